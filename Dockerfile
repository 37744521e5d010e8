# FormBridge's image: web, worker and beat run it with the Procfile's commands.
# The base image is an argument: where no registry is reachable, deploy/local-images/build.sh
# builds one from Debian's packages (docker-compose.yml passes PYTHON_IMAGE).
ARG PYTHON_IMAGE=python:3.11-slim

# Build stage: wheels of the pinned dependencies and of FormBridge itself (compilers stay here).
FROM ${PYTHON_IMAGE} AS build
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
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOST=0.0.0.0 PORT=8000 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY --from=build /wheels /wheels
# var/ (stored files, metrics, the embedded broker's state) is the one directory the app
# writes: made here and owned by its user (the context never carries a developer's var/), it is
# also what a volume mounted there starts from (docker-compose.yml's "var").
RUN pip install --no-index --find-links /wheels formbridge && rm -rf /wheels \
    && useradd --create-home --uid 1000 formbridge \
    && mkdir -p /app/var && chown formbridge:formbridge /app/var
COPY --chown=formbridge . .
USER formbridge

EXPOSE 8000
# The web process's own probe; worker and beat get theirs in docker-compose.yml (and ECS).
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2)"
ENTRYPOINT ["deploy/entrypoint.sh"]
CMD ["gunicorn", "formbridge.wsgi:application", "--config", "deploy/gunicorn.conf.py"]
