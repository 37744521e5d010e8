"""The walls between files and apps, read from the imports in the source.

Every import counts, the lazy ones inside functions too. The apps form one order, each above
the next; an app may import those below it, never one above:

    formbridge (shell) -> webforms -> sources -> ingest -> delivery -> reporting -> tenants
    -> core (kernel)

and no file may reach itself through its imports, a package `__init__` importing the modules
that import it (a registry that fills itself) included.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORDER = ("formbridge", "webforms", "sources", "ingest", "delivery", "reporting", "tenants", "core")


def modules(root: Path = ROOT) -> dict[str, Path]:
    found = {}
    for app in ORDER:
        for path in sorted((root / app).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules this one imports, anywhere in the file."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            out.update(_resolve(alias.name, known) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            for alias in node.names:
                full = f"{base}.{alias.name}"
                out.add(full if full in known else _resolve(base, known))
    out.discard(None)
    out.discard(module)
    return out


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    known = modules(root)
    return {module: imports(module, path, known) for module, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one file (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def back_arrows(edges: dict[str, set[str]]) -> list[str]:
    rank = {app: n for n, app in enumerate(ORDER)}
    return sorted(
        f"{source} -> {target}"
        for source, targets in edges.items()
        for target in targets
        if rank[target.split(".")[0]] < rank[source.split(".")[0]]
    )


def test_no_file_reaches_itself_through_its_imports():
    found = cycles(graph())

    assert not found, "import cycles:\n" + "\n".join(" -> ".join(group) for group in found)


def test_no_app_imports_one_above_it():
    found = back_arrows(graph())

    assert not found, f"imports against the order {' -> '.join(ORDER)}:\n" + "\n".join(found)


def test_every_app_is_in_the_order():
    apps = {path.parent.name for path in ROOT.glob("*/apps.py")} | {"core"}

    assert apps == set(ORDER)


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_scan_sees_lazy_imports_and_registry_loops(tmp_path):
    _write(
        tmp_path,
        {
            "core/__init__.py": "",
            "core/clock.py": "def now():\n    from tenants.models import Tenant\n",
            "tenants/__init__.py": "",
            "tenants/models.py": "from core import clock\n",
            "delivery/__init__.py": "",
            "delivery/connectors/__init__.py": "from . import rest\n",
            "delivery/connectors/rest.py": (
                "from . import base\nfrom delivery.connectors import registered\n"
            ),
            "delivery/connectors/base.py": "",
        },
    )
    edges = graph(tmp_path)

    assert sorted(map(tuple, cycles(edges))) == [
        ("core.clock", "tenants.models"),
        ("delivery.connectors", "delivery.connectors.rest"),
    ]
    assert back_arrows(edges) == ["core.clock -> tenants.models"]
