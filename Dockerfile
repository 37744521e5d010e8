FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOST=0.0.0.0 PORT=8000
WORKDIR /app

COPY pyproject.toml README.md ./
COPY core core
COPY formbridge formbridge
COPY tenants tenants
COPY reporting reporting
COPY delivery delivery
COPY ingest ingest
COPY sources sources
COPY webforms webforms
RUN pip install --no-cache-dir .

COPY . .
RUN useradd --create-home --uid 1000 formbridge && chown -R formbridge /app
USER formbridge

EXPOSE 8000
ENTRYPOINT ["deploy/entrypoint.sh"]
CMD ["gunicorn", "formbridge.wsgi:application", "--config", "deploy/gunicorn.conf.py"]
