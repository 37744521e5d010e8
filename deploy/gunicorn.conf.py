"""gunicorn settings, overridable from the environment (PORT, WEB_CONCURRENCY, WEB_THREADS)."""

import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
# Keep-alive lets a load balancer (or wrk) reuse connections.
keepalive = int(os.environ.get("WEB_KEEPALIVE", "5"))
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
accesslog = os.environ.get("WEB_ACCESS_LOG") or None
errorlog = "-"
# gunicorn 27 opens a control socket at one fixed path per user; two servers would fight over it.
control_socket_disable = True
