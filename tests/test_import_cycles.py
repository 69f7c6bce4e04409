"""No import circles in the package: a module that needs another's helper must not be needed
by it in turn (a circle only works while someone remembers to import lazily). Read from the
source with ast, so the Frappe side is checked without Frappe."""

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "persona_threading"
# Lazy imports that still close a circle; each is a known debt, listed so no new one joins.
KNOWN = {
    ("frappe_adapter.timeline", "frappe_adapter.store"),
    ("frappe_adapter.lookup", "frappe_adapter.backfill"),
    ("frappe_adapter.helpdesk", "frappe_adapter.auto_reply"),
}


def _modules() -> dict[str, pathlib.Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(name: str, path: pathlib.Path, modules: dict) -> set[str]:
    """The package's modules ``name`` imports, at the top or inside a function."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
            elif (node.module or "").startswith("persona_threading"):
                base = node.module.removeprefix("persona_threading").lstrip(".")
            else:
                continue
            for alias in node.names:
                joined = f"{base}.{alias.name}".lstrip(".")
                out.add(joined if joined in modules else base)
        elif isinstance(node, ast.Import):
            out |= {a.name.removeprefix("persona_threading.") for a in node.names
                    if a.name.removeprefix("persona_threading.") in modules}
    return {m for m in out if m in modules and m != name}


def _circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of ``graph`` (its modules in order), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node):
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_no_import_circles_but_the_known_ones():
    modules = _modules()
    graph = {name: {m for m in _imports(name, path, modules) if (name, m) not in KNOWN}
             for name, path in modules.items()}
    circle = _circle(graph)
    assert circle is None, "import circle: " + " -> ".join(circle)


def test_the_circle_check_sees_a_lazy_import():
    assert _circle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]
    assert _circle({"a": {"b"}, "b": set()}) is None
