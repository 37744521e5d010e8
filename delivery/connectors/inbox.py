"""The pull inbox: nothing is sent; deliveries wait until a consumer acks them (GET /v1/inbox)."""

from __future__ import annotations

from .base import Connector


class InboxConnector(Connector):
    kind = "inbox"
    config_help = "{} (pulled from GET /v1/inbox)"
    label = "Pull inbox"
    waits_for_pull = True  # the engine never claims its deliveries: no send of its own
