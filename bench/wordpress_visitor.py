"""What FormBridge's WordPress plugin adds to a visitor's submit, on Apache's mod_php (how
Debian's wordpress package is served) and on `php -S`: neither can finish a response early
(no fastcgi_finish_request), so the plugin must never send in the visitor's request.

For each server and each real form plugin (Contact Form 7, WPForms Lite, Fluent Forms,
Formidable), the time of the submit request a visitor's browser makes (p50, p90 of --submits):
  without  FormBridge's plugin deactivated;
  hung     the plugin active, FormBridge accepting connections and never answering;
  down     the plugin active, nothing listening where FormBridge should be (each submit spawns
           its send, which fails at once: the spawn's own cost, every time).
The target (issue 28): hung adds at most 200 ms over without, on both servers.

    make bench-wordpress          (needs WP_FORM_PLUGINS_DIR, MariaDB, Debian's wordpress/apache2)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.clients.form_visitors import Lead, Visitor, accepted
from tests.clients.formbridge_gate import FormBridgeGate
from tests.clients.wordpress_site import (
    FORM_PLUGINS,
    WordPressSite,
    missing_form_plugins,
)
from tests.faults.stack import free_port

PLUGINS = list(FORM_PLUGINS)
TARGET_MS = 200


def measure(site: WordPressSite, submits: int, label: str) -> dict[str, list[float]]:
    visitor = Visitor(site.home)
    times: dict[str, list[float]] = {plugin: [] for plugin in PLUGINS}
    try:
        for n in range(submits + 1):
            for plugin in PLUGINS:
                lead = Lead("Bench", "Visitor", f"bench-{label}-{n}-{plugin}@example.com",
                            ["Pricing"], "A benchmark lead")  # fmt: skip
                answer = visitor.submit(plugin, site.forms[plugin]["page"], lead,
                                        site.forms[plugin]["form"])  # fmt: skip
                assert accepted(plugin, answer), (label, plugin, answer.body[:300])
                if n:  # the first round warms the server's caches (opcache, WordPress's)
                    times[plugin].append(answer.seconds * 1000)
    finally:
        visitor.close()
    return times


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_server(server: str, submits: int, root: Path) -> list[tuple]:
    site = WordPressSite(root / server, f"formbridge_bench_wp_{server.replace('-', '_')}").build(
        PLUGINS
    )
    site.install()
    hung = FormBridgeGate("http://127.0.0.1:9").start()
    hung.hang()
    down_url = f"http://127.0.0.1:{free_port()}"
    start = site.serve_apache if server == "apache" else site.serve
    start()
    rows = []
    try:
        site.configure(deactivate="formbridge/formbridge.php")
        without = measure(site, submits, f"{server}-without")
        site.configure(activate="formbridge/formbridge.php", endpoint=hung.url,
                       tenant_id="t_bench", secret="fbs_" + "b" * 43, timeout="5")  # fmt: skip
        with_hung = measure(site, submits, f"{server}-hung")
        site.configure(endpoint=down_url)
        with_down = measure(site, submits, f"{server}-down")
        for plugin in PLUGINS:
            base, held, refused = without[plugin], with_hung[plugin], with_down[plugin]
            added = statistics.median(held) - statistics.median(base)
            rows.append((server, plugin, p(base, 0.5), p(base, 0.9), p(held, 0.5), p(held, 0.9),
                         p(refused, 0.5), p(refused, 0.9), added))  # fmt: skip
        queued = site.query("SELECT COUNT(*) FROM wp_formbridge_queue")[0][0]
        print(f"{server}: {queued} leads queued, none lost while FormBridge was hung or down")
    finally:
        hung.stop()
        site.drop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submits", type=int, default=15, help="per plugin, per case")
    parser.add_argument("--servers", default="apache,php-s")
    args = parser.parse_args()
    if missing := missing_form_plugins():
        sys.exit("missing: " + "; ".join(missing))
    root = Path(tempfile.mkdtemp(prefix="formbridge-bench-wp-"))
    rows = []
    for server in args.servers.split(","):
        rows += run_server(server, args.submits, root)
    header = ("server", "plugin", "without p50", "p90", "hung p50", "p90", "down p50", "p90",
              "added by hung (p50)")  # fmt: skip
    print(" | ".join(header))
    for row in rows:
        server, plugin, *ms, added = row
        verdict = "ok" if added <= TARGET_MS else f"OVER {TARGET_MS} ms"
        cells = [server, plugin, *(f"{v:.0f} ms" for v in ms), f"{added:+.0f} ms {verdict}"]
        print(" | ".join(cells))
    worst = max(row[-1] for row in rows)
    print(f"worst added by a hung FormBridge: {worst:+.0f} ms (target <= {TARGET_MS} ms)")


if __name__ == "__main__":
    main()
