"""The pull inbox: its service (read, lease, ack), API views and serializers, in one place.

Its connector is delivery/connectors/inbox.py: the engine never sends these deliveries.
"""
