"""The package's shape: no import cycles, schemas/ below pipeline/, click in cli.py alone."""

import ast

from helpers import ROOT

PACKAGES = ("pipeline", "schemas")


def imports() -> dict[str, set[str]]:
    """Each module of ours (`pipeline.read`) and the modules of ours it imports, wherever in the
    file (an import inside a function hides a cycle from Python, not from this)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).glob("*.py")):
            module = f"{package}.{path.stem}".removesuffix(".__init__")
            names: set[str] = set()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module:
                    names.add(node.module)
                    names |= {f"{node.module}.{a.name}" for a in node.names}
                elif isinstance(node, ast.Import):
                    names |= {a.name for a in node.names}
            found[module] = names
    return {m: {n for n in names if n in found and n != m} for m, names in found.items()}


def cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of `graph`, or []."""
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt, [*path, nxt])):
                return found
        state[node] = "done"
        return []

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return []


def test_no_module_imports_itself_through_others():
    assert cycle(imports()) == []


def test_the_cycle_finder_finds_one():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_schemas_import_nothing_of_pipeline_and_the_vocabulary_nothing_of_ours():
    graph = imports()
    below = {m: names for m, names in graph.items() if m.startswith("schemas.")}
    assert all(not n.startswith("pipeline") for names in below.values() for n in names), below
    assert graph["schemas.vocabulary"] == set()


def test_only_the_command_line_imports_click():
    users = []
    for package in PACKAGES:
        for path in (ROOT / package).glob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                if any(n.split(".")[0] == "click" for n in names):
                    users.append(f"{package}/{path.name}")
    assert sorted(set(users)) == ["pipeline/cli.py"]
