"""A served WordPress for the plugin's tests: Debian's WordPress core, a scratch MariaDB database,
FormBridge's plugin and the real form plugins (their own published code, from the directory
WP_FORM_PLUGINS_DIR names), served by `php -S` or by Apache's mod_php as a visitor reaches it.

The core is Debian's /usr/share/wordpress in a site folder of its own, whose wp-config.php
(clients/wordpress/tests/site/) reads site.json. The scripts a request runs (index.php, wp-cron.php,
wp-admin/*) find wp-load.php by their own folder, and PHP resolves symlinks there: they are linked
hard (or copied), so they load this site's configuration and not Debian's /etc/wordpress;
wp-includes, loaded by ABSPATH, is a symlink."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.e2e.stack import stop, wait_until
from tests.faults.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "clients" / "wordpress" / "formbridge"
SITE_SCRIPTS = ROOT / "clients" / "wordpress" / "tests" / "site"
WORDPRESS = Path("/usr/share/wordpress")

# The real form plugins: folder in WP_FORM_PLUGINS_DIR, main file, and where it is published
# (clients/wordpress/tests/fetch-form-plugins.sh fetches exactly these).
FORM_PLUGINS = {
    "cf7": ("contact-form-7", "wp-contact-form-7.php", "rocklobster-in/contact-form-7 v5.7.7"),
    "wpforms": ("wpforms-lite", "wpforms.php", "projectestac/wordpress-wpforms-lite 1.8.9.6"),
    "fluentforms": ("fluentform", "fluentform.php", "fluentform/fluentform 6.1.2"),
    "formidable": ("formidable", "formidable.php", "Strategy11/formidable-forms v6.25.1"),
}


def form_plugins_dir() -> Path | None:
    value = os.environ.get("WP_FORM_PLUGINS_DIR", "")
    return Path(value) if value else None


def missing_form_plugins() -> list[str]:
    """What the real-plugin tests lack, each said as what to fetch (empty when all is there)."""
    missing = [p for p in ("php", "mysql") if shutil.which(p) is None]
    if not WORDPRESS.exists():
        missing.append("Debian's wordpress package")
    base = form_plugins_dir()
    for folder, main, published in FORM_PLUGINS.values():
        if base is None or not (base / folder / main).exists():
            missing.append(f"{published} in $WP_FORM_PLUGINS_DIR/{folder}")
    return missing


def _link_or_copy(source, target) -> None:
    try:
        os.link(source, target)
    except OSError:  # another filesystem
        shutil.copy2(source, target)


def mysql(sql: str, database: str | None = None) -> str:
    command = ["mysql", "-h", "127.0.0.1", "-u", "root", "--batch", "--skip-column-names"]
    done = subprocess.run(
        [*command, *([database] if database else []), "-e", sql],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return done.stdout


@dataclass
class WordPressSite:
    """One test site: build(), install(), serve(); php() runs a script inside it."""

    root: Path
    database: str
    port: int = field(default_factory=free_port)
    smtp_port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    forms: dict = field(default_factory=dict)

    @property
    def home(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def site(self) -> Path:
        return self.root / "site"

    @property
    def content(self) -> Path:
        return self.root / "wp-content"

    @property
    def debug_log(self) -> Path:
        return self.root / "debug.log"

    def build(self, plugins: list[str]) -> WordPressSite:
        """The site folder, its configuration and its content folder with the chosen plugins."""
        self.site.mkdir(parents=True)
        for entry in WORDPRESS.iterdir():
            if entry.name == "wp-includes":
                (self.site / entry.name).symlink_to(entry)
            elif entry.name == "wp-admin":
                shutil.copytree(entry, self.site / entry.name, copy_function=_link_or_copy)
            elif entry.suffix == ".php" and entry.name != "wp-config.php":
                _link_or_copy(entry, self.site / entry.name)
        for script in SITE_SCRIPTS.glob("*.php"):
            shutil.copy(script, self.site / script.name)
        for folder in ("plugins", "mu-plugins", "uploads"):
            (self.content / folder).mkdir(parents=True)
        (self.site / "wp-content").symlink_to(self.content)
        (self.content / "themes").symlink_to(WORDPRESS / "wp-content" / "themes")
        self.install_formbridge()
        for mu_plugin in (SITE_SCRIPTS / "mu-plugins").glob("*.php"):
            shutil.copy(mu_plugin, self.content / "mu-plugins")
        active = {"formbridge": "formbridge/formbridge.php"}
        base = form_plugins_dir()
        for name in plugins:
            folder, main, _ = FORM_PLUGINS[name]
            (self.content / "plugins" / folder).symlink_to(base / folder)
            active[name] = f"{folder}/{main}"
        (self.site / "site.json").write_text(
            json.dumps(
                {
                    "db_name": self.database,
                    "db_host": "127.0.0.1",
                    "content_dir": str(self.content),
                    "home": self.home,
                    "debug_log": str(self.debug_log),
                    "smtp_port": self.smtp_port,
                    # WP-Cron runs when the test visits wp-cron.php, as a system cron would run
                    # it: what is sent at once was sent by the plugin's own loopback.
                    "disable_wp_cron": True,
                    "plugins": active,
                }
            )
        )
        mysql(f"DROP DATABASE IF EXISTS {self.database}; CREATE DATABASE {self.database}")
        return self

    def install_formbridge(self) -> None:
        """FormBridge's plugin copied in, as unzipping it would (a test deletes it from wp-admin,
        which must not reach the repository's files)."""
        shutil.copytree(PLUGIN, self.content / "plugins" / "formbridge")

    def install(self) -> WordPressSite:
        """WordPress installed, every plugin activated, one contact form per form plugin."""
        self.php("install-site.php")
        self.forms = json.loads(self.php("make-forms.php").splitlines()[-1])
        return self

    def php(self, script: str, *args: str, env: dict | None = None) -> str:
        done = subprocess.run(
            ["php", script, *args],
            cwd=self.site, capture_output=True, text=True, timeout=120,
            env={**os.environ, **(env or {})},
        )  # fmt: skip
        assert done.returncode == 0, f"{script}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
        return done.stdout

    def serve(self, env: dict | None = None) -> WordPressSite:
        """PHP's built-in server, four workers (a loopback request is answered while the
        visitor's request runs, as on a real server); `env` for the server (a skewed clock)."""
        log = open(self.root / "php-server.log", "ab")  # noqa: SIM115 - the server's lifetime
        self.process = subprocess.Popen(
            [
                "php", "-S", f"127.0.0.1:{self.port}", "-t", str(self.site),
            ],
            cwd=self.site, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "PHP_CLI_SERVER_WORKERS": "4", **(env or {})},
        )  # fmt: skip
        wait_until(self._answers, seconds=30, what=f"php -S on {self.home}")
        return self

    def serve_apache(self, workers: int = 16) -> WordPressSite:
        """Apache with mod_php (prefork), as Debian's wordpress package is served: an instance
        of its own on this site's port, its children running as www-data."""
        conf = self.root / "apache"
        conf.mkdir(exist_ok=True)
        modules = Path("/usr/lib/apache2/modules")
        loads = {"mpm_prefork": "mod_mpm_prefork.so", "authz_core": "mod_authz_core.so",
                 "dir": "mod_dir.so", "mime": "mod_mime.so", "php": "libphp8.2.so"}  # fmt: skip
        (conf / "httpd.conf").write_text(
            "\n".join(f"LoadModule {name}_module {modules / so}" for name, so in loads.items())
            + f"""
ServerName 127.0.0.1
Listen 127.0.0.1:{self.port}
PidFile {conf / "httpd.pid"}
ErrorLog {conf / "error.log"}
User www-data
Group www-data
TypesConfig /etc/mime.types
StartServers {workers}
MinSpareServers {workers}
MaxRequestWorkers {workers * 2}
DocumentRoot {self.site}
DirectoryIndex index.php
<Directory />
    Require all granted
</Directory>
<FilesMatch "\\.php$">
    SetHandler application/x-httpd-php
</FilesMatch>
"""
        )
        # The children run as www-data: they read the site and write the log and the uploads.
        for path in (self.root, *self.root.parents):
            if path == Path("/"):
                break
            path.chmod(path.stat().st_mode | 0o055)
        subprocess.run(
            ["chown", "-R", "www-data:www-data", str(self.content / "uploads")], check=True
        )
        self.debug_log.touch()
        self.debug_log.chmod(0o666)
        self.process = subprocess.Popen(
            ["/usr/sbin/apache2", "-f", str(conf / "httpd.conf"), "-DFOREGROUND"],
            stdout=subprocess.DEVNULL, stderr=open(conf / "stderr.log", "ab"),  # noqa: SIM115
            start_new_session=True,
            env={**os.environ, "APACHE_RUN_DIR": str(conf), "APACHE_LOCK_DIR": str(conf)},
        )  # fmt: skip
        wait_until(self._answers, seconds=30, what=f"Apache on {self.home}")
        return self

    def configure(self, **settings: str) -> None:
        """FormBridge's settings and the plugins' activation (configure.php)."""
        self.php("configure.php", *(f"{key}={value}" for key, value in settings.items()))

    def _answers(self) -> bool:
        try:
            return httpx.get(self.home + "/", timeout=5).status_code < 500
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None

    def drop(self) -> None:
        self.stop()
        mysql(f"DROP DATABASE IF EXISTS {self.database}")

    def query(self, sql: str) -> list[list[str]]:
        return [line.split("\t") for line in mysql(sql, self.database).splitlines()]

    def warnings(self) -> str:
        """PHP warnings and errors the site logged from FormBridge's plugin."""
        if not self.debug_log.exists():
            return ""
        return "\n".join(
            line for line in self.debug_log.read_text().splitlines()
            if "formbridge/" in line and ("Warning" in line or "Fatal" in line)
        )  # fmt: skip
