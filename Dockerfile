# FormBridge's image: web, worker and beat run it with the Procfile's commands.
# Build stage: wheels of the pinned dependencies and of FormBridge itself (compilers stay here).
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src

COPY pyproject.toml README.md ./
COPY core core
COPY formbridge formbridge
COPY tenants tenants
COPY reporting reporting
COPY delivery delivery
COPY ingest ingest
COPY sources sources
COPY webforms webforms
RUN pip wheel --wheel-dir /wheels .

# Run stage: only the wheels, the code and a user without privileges.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOST=0.0.0.0 PORT=8000 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY --from=build /wheels /wheels
RUN pip install --no-index --find-links /wheels formbridge && rm -rf /wheels \
    && useradd --create-home --uid 1000 formbridge
COPY --chown=formbridge . .
USER formbridge

EXPOSE 8000
# The web process's own probe; worker and beat get theirs in docker-compose.yml (and ECS).
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2)"
ENTRYPOINT ["deploy/entrypoint.sh"]
CMD ["gunicorn", "formbridge.wsgi:application", "--config", "deploy/gunicorn.conf.py"]
