"""The layers point one way (docs/architecture.md), checked from the imports themselves:

    domain  ←  store  ←  activities           workflows (domain, their activities' contracts)
      ↑          ↑            ↑
    infra  ←  application  ←  inbox_api (routes)   web (pages)   ←  worker (composes)

Every import counts, at the top of a module or inside a function: a layer leak hidden in a
function is still a leak. No module imports itself back through others (no import circles).
A breach names the file, the line and the import."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "domain",
    "infra",
    "store",
    "workflows",
    "activities",
    "application",
    "inbox_api",
    "web",
)

# What each package may import of ours (itself always).
ALLOWED: dict[str, set[str]] = {
    "domain": set(),
    "infra": {"store"},  # the settings only (store.settings), checked below
    "store": {"domain", "infra"},
    # Workflows call activities by reference and pass their contracts; no I/O of their own.
    "workflows": {"domain", "activities"},
    "activities": {"domain", "store", "infra", "workflows"},
    # The workflows' contracts, rules and run methods (to start and update them), never a
    # front end or an activity.
    "application": {"domain", "store", "infra", "workflows"},
    "inbox_api": {"domain", "store", "infra", "workflows", "application"},
    "web": {"domain", "store", "infra", "workflows", "application"},
}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(path: Path, name: str) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return [
        found
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for found in _imports_of(node, path, name)
    ]


def test_layers_point_one_way() -> None:
    modules = _modules()
    breaches = []
    for name, path in modules.items():
        layer = name.split(".")[0]
        for line, target in _imports(path, name):
            top = target.split(".")[0]
            if (top not in PACKAGES and top != "worker") or top == layer:
                continue
            if top not in ALLOWED[layer]:
                breaches.append(f"{path.relative_to(ROOT)}:{line} {layer} -> {target}")
            elif layer == "infra" and not target.startswith("store.settings"):
                breaches.append(f"{path.relative_to(ROOT)}:{line} infra -> {target}")
    assert breaches == [], "\n".join(breaches)


def test_no_import_circles() -> None:
    """No module reaches itself again through the modules it imports, wherever the import
    stands (an import moved into a function to dodge a circle is still a circle); only
    ``if TYPE_CHECKING:`` imports, which never run, are left out."""
    modules = _modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        typing_only = {
            id(sub)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for sub in ast.walk(node)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in typing_only:
                for _, target in _imports_of(node, path, name):
                    if target in modules and target != name and not name.startswith(target + "."):
                        graph[name].add(target)
    circles = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append(" -> ".join([*stack[stack.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(modules):
        if module not in state:
            visit(module)
    assert circles == [], "\n".join(circles)


def _imports_of(node: ast.Import | ast.ImportFrom, path: Path, name: str) -> list[tuple[int, str]]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    if isinstance(node, ast.Import):
        return [(node.lineno, alias.name) for alias in node.names]
    if node.level:
        base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
        module = f"{base}.{node.module}" if node.module else base
    else:
        module = node.module or ""
    return [(node.lineno, module)] + [(node.lineno, f"{module}.{a.name}") for a in node.names]


def test_no_code_names_a_policy_pack() -> None:
    """A region is data (#23): no string in the code is a pack's id — what a pack decides
    (its ledger's layout, its categories, its stages) is read from the pack. Comments and
    docstrings may name one as an example; a string that *is* an id may not."""
    from domain.policy.loader import list_packs

    ids = set(list_packs())
    found = []
    for package in (*PACKAGES, "worker"):
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and node.value in ids:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert not found, "\n".join(found)


# The command line's pure reads of pack files (no database); everything else that runs asks
# for the packs in force.
_READS_PACK_FILES = {"store/packs.py", "worker/cli_policy.py"}


def test_the_running_system_reads_the_packs_in_force() -> None:
    """A pack an administrator loads (#23) takes effect everywhere only if nothing reads the
    packaged files behind its back: outside domain/policy, only store.packs (the packs in
    force) and the file commands of the CLI call the file loader."""
    found = []
    for package in (*PACKAGES, "worker"):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = str(path.relative_to(ROOT))
            if rel.startswith("domain/policy/") or rel in _READS_PACK_FILES:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name | ast.Attribute)
                    and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr)
                    in {"load_pack", "list_packs", "load_all"}
                ):
                    found.append(f"{rel}:{node.lineno}")
    assert not found, "\n".join(found)
