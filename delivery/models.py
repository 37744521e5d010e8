"""Destinations, deliveries and attempts (the delivery engine)."""
