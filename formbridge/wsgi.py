"""WSGI entry point: the JSON API under /v1/ skips the admin's cookie middleware, and the probes
skip everything but the request id.

The API authenticates every request by signature or API key, never by session cookie, so
sessions, auth, messages, CSRF and clickjacking middleware only cost it time (~12 % of an ingest
request's CPU). The probes (/healthz, /readyz) answer whatever Host the orchestrator sends: ECS's
container check asks 127.0.0.1:8000 and the load balancer's target check the task's own IP, and
CommonMiddleware would refuse both (400 DisallowedHost) where ALLOWED_HOSTS names the public
domain; no other path is served without the Host check. Everything else gets the full stack.
"""

import os

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

from core import tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "formbridge.settings")

# gunicorn imports this in each worker after the fork (no preload), where tracing may start;
# before the handlers below load their middleware, which it extends.
tracing.configure("web")
site_application = get_wsgi_application()


class ChainHandler(WSGIHandler):
    """A Django handler whose middleware chain is the settings list it is named."""

    def __init__(self, chain_setting: str) -> None:
        self.chain_setting = chain_setting
        super().__init__()

    def load_middleware(self, is_async: bool = False) -> None:
        # BaseHandler reads settings.MIDDLEWARE; swap it only while this handler is built,
        # once, at import time, before any request is served.
        site_middleware = settings.MIDDLEWARE
        settings.MIDDLEWARE = getattr(settings, self.chain_setting)
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = site_middleware


api_application = ChainHandler("API_MIDDLEWARE")
probe_application = ChainHandler("PROBE_MIDDLEWARE")


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path.startswith(settings.API_PATH_PREFIX):
        return api_application(environ, start_response)
    if path in settings.PROBE_PATHS:
        return probe_application(environ, start_response)
    return site_application(environ, start_response)
