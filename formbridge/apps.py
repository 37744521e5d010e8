from django.apps import AppConfig
from django.db.backends.signals import connection_created


class FormBridgeConfig(AppConfig):
    """The project shell as an app: its admin registrations and the commands that compose apps."""

    name = "formbridge"
    verbose_name = "FormBridge"

    def ready(self) -> None:
        from core import pg_statement_cache, pg_timestamps

        # Every process (web, workers, commands) parses timestamps in C and converts the
        # ingest statement's placeholders once (core/pg_timestamps.py, core/pg_statement_cache.py).
        connection_created.connect(pg_timestamps.install, dispatch_uid="pg_timestamps")
        pg_statement_cache.install()
