"""Connectors, one module each; delivery/connectors/registry.py lists them by Destination.kind."""
