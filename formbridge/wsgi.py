"""WSGI entry point: the JSON API under /v1/ skips the admin's cookie middleware.

The API authenticates every request by signature or API key, never by session cookie, so
sessions, auth, messages, CSRF and clickjacking middleware only cost it time (~12 % of an ingest
request's CPU). Everything else (the admin, probes) gets the full stack.
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


class ApiHandler(WSGIHandler):
    """A Django handler whose middleware chain is settings.API_MIDDLEWARE."""

    def load_middleware(self, is_async: bool = False) -> None:
        # BaseHandler reads settings.MIDDLEWARE; swap it only while this handler is built,
        # once, at import time, before any request is served.
        site_middleware = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.API_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = site_middleware


api_application = ApiHandler()


def application(environ, start_response):
    if environ.get("PATH_INFO", "").startswith(settings.API_PATH_PREFIX):
        return api_application(environ, start_response)
    return site_application(environ, start_response)
