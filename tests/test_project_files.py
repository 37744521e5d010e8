"""What can be checked of the deployment files without a Docker engine, and the newcomer docs."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
ENV_READ = re.compile(r"""env(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]+)["']""")
OS_ENV_READ = re.compile(r"""os\.environ\.get\(\s*["']([A-Z][A-Z0-9_]+)["']""")


def documented_settings() -> dict[str, str]:
    """Each NAME in .env.example with the comment line just above it."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    documented = {}
    for index, line in enumerate(lines):
        match = re.match(r"#?\s?([A-Z][A-Z0-9_]+)=", line)
        if match:
            comment = lines[index - 1] if index else ""
            documented[match.group(1)] = comment
    return documented


def settings_read_from_environment() -> set[str]:
    names = set(ENV_READ.findall((ROOT / "formbridge" / "settings.py").read_text()))
    names |= set(OS_ENV_READ.findall((ROOT / "deploy" / "gunicorn.conf.py").read_text()))
    return names


def test_every_setting_is_in_env_example_with_a_comment():
    documented = documented_settings()
    read = settings_read_from_environment()

    assert {"SECRET_KEY", "DATABASE_URL", "FORMBRIDGE_ENCRYPTION_KEYS", "PORT"} <= read
    missing = sorted(read - set(documented))
    assert not missing, f"add to .env.example: {missing}"
    uncommented = [name for name in read if not documented[name].startswith("#")]
    assert not uncommented, f"give these a one-line comment: {uncommented}"


def test_compose_runs_web_postgres_redis_with_known_settings():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    for app_service in ("web", "worker", "beat"):
        assert services[app_service]["restart"] == "unless-stopped", app_service

    assert {"web", "worker", "beat", "postgres", "redis"} <= set(services)
    assert services["worker"]["command"][:4] == ["celery", "-A", "formbridge", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "formbridge", "beat"]
    web = services["web"]
    assert web["build"]["context"] == "."
    # Base images are settings whose defaults are the public images (deploy/local-images).
    assert web["build"]["args"]["PYTHON_IMAGE"] == "${PYTHON_IMAGE:-python:3.11-slim}"
    assert services["postgres"]["image"] == "${POSTGRES_IMAGE:-postgres:15}"
    assert web["command"][0] == "gunicorn"
    assert (ROOT / web["command"][-1]).is_file()  # the gunicorn config it names
    assert set(web["depends_on"]) == {"migrate", "postgres", "redis"}
    documented = set(documented_settings())
    unknown = sorted(set(web["environment"]) - documented)
    assert not unknown, f"compose sets settings .env.example does not list: {unknown}"
    assert web["environment"]["DATABASE_URL"].startswith("postgres://")
    assert "@postgres:5432/" in web["environment"]["DATABASE_URL"]
    assert "redis://redis:6379" in web["environment"]["REDIS_URL"]


def test_compose_migrates_once_before_the_app_and_checks_every_service():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    migrate = services["migrate"]

    assert migrate["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert migrate["restart"] == "no"
    for app in ("web", "worker", "beat"):
        # Never inside a replica's start-up, where two replicas would race.
        assert services[app]["environment"]["MIGRATE"] == "0", app
        assert services[app]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }, app
    for name, service in services.items():
        if name != "migrate":
            assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
            assert service["restart"] == "unless-stopped", name


def test_compose_runs_the_procfiles_commands():
    procfile = dict(
        line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]

    for process in ("web", "worker", "beat"):
        expected = procfile[process].replace(".venv/bin/", "").split()
        assert compose[process]["command"][: len(expected)] == expected, process


def test_the_image_is_built_in_stages_and_runs_unprivileged_with_a_health_check():
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert len(re.findall(r"^FROM ", dockerfile, re.M)) == 2  # build, then run
    assert re.search(r"^USER formbridge$", dockerfile, re.M)
    assert "HEALTHCHECK" in dockerfile and "/readyz" in dockerfile
    assert "--no-index" in dockerfile  # the run stage installs only the built wheels


def test_dockerfile_entrypoint_exists_and_is_executable():
    dockerfile = (ROOT / "Dockerfile").read_text()
    entrypoint = re.search(r'ENTRYPOINT \["([^"]+)"\]', dockerfile).group(1)

    assert (ROOT / entrypoint).stat().st_mode & 0o111
    assert "migrate" in (ROOT / entrypoint).read_text()


def test_procfile_processes_name_real_commands():
    procfile = (ROOT / "Procfile").read_text().splitlines()
    processes = dict(line.split(": ", 1) for line in procfile if line.strip())

    assert {"web", "worker", "beat", "receiver"} == set(processes)
    assert "deploy/gunicorn.conf.py" in processes["web"]
    assert "celery -A formbridge worker" in processes["worker"]
    assert "celery -A formbridge beat" in processes["beat"]


def test_readme_starts_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    first_screen = readme[:1500]

    assert "make run" in first_screen
    assert "make test" in first_screen


def test_compose_puts_nginx_in_front_and_gunicorn_out_of_reach():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    nginx, web = services["nginx"], services["web"]

    assert "ports" not in web, "gunicorn's sync workers must not face clients directly"
    assert nginx["ports"] == ["8000:8080"]
    assert nginx["environment"]["FORMBRIDGE_UPSTREAM"] == "web:8000"
    assert web["environment"]["TRUSTED_PROXY_COUNT"] == "1"
    [mount] = nginx["volumes"]
    template, target = mount.split(":")[:2]
    assert (ROOT / template).is_file() and target.startswith("/etc/nginx/templates/")
    text = (ROOT / template).read_text()
    for variable in ("FORMBRIDGE_UPSTREAM", "NGINX_PORT", "NGINX_MAX_BODY"):
        assert "${" + variable + "}" in text and variable in nginx["environment"]
    for directive in ("client_header_timeout", "client_body_timeout", "proxy_request_buffering on"):
        assert directive in text


def test_the_image_installs_every_app_and_the_package_lists_them():
    from tests.test_imports import ORDER

    dockerfile = (ROOT / "Dockerfile").read_text()
    before_install = dockerfile.split("RUN pip install", 1)[0]
    copied = set(re.findall(r"^COPY (\w+) \1$", before_install, re.M))
    packaged = (ROOT / "pyproject.toml").read_text()

    assert copied == set(ORDER)
    for app in ORDER:
        assert f'"{app}*"' in packaged, f"pyproject.toml does not package {app}"


def test_every_error_code_is_in_the_readme_error_table():
    from core.openapi import ERROR_CODES

    readme = (ROOT / "README.md").read_text()
    table = readme.split("### Errors", 1)[1].split("\n## ", 1)[0]
    missing = sorted(code for code in ERROR_CODES if f"`{code}`" not in table)
    assert not missing, f"add to the README's error table: {missing}"
