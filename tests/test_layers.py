"""No import circles among the project's modules: the package and the explorer's files.

The import graph is read from the source with :mod:`ast`, so nothing is imported: every ``import``
and ``from ... import`` counts, at module level, inside a function or under ``if TYPE_CHECKING:``
alike (a lazy import that only dodges a circle still ties the two modules together).  An edge runs
to the module named, or to a submodule where the imported name is one (``from . import paths``).
"""
from __future__ import annotations

import ast
from collections import deque
from pathlib import Path

from helpers import ROOT

#: Circles known and tracked, each the set of its modules.  An entry must still be a circle, so it
#: is removed here once its circle is broken.
ALLOWED = {
    # issue 24: domain <-> infer is broken on its own branch (domain checks relative to the catalog)
    frozenset({"colorcore.domain", "colorcore.infer"}),
}


def _module_name(path: Path) -> str:
    """``colorcore/models/__init__.py`` -> ``colorcore.models``; ``pages/train.py`` -> ``pages.train``."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_files() -> dict[str, Path]:
    """Module name -> source file, for the package, the explorer's entry points and its pages."""
    files = [*(ROOT / "colorcore").rglob("*.py"), *(ROOT / "pages").glob("*.py"),
             *(ROOT / name for name in ("app_cache.py", "app_widgets.py", "explorer.py", "streamlit_app.py"))]
    return {_module_name(path): path for path in files}


def _base(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute name of the module a ``from ... import`` reads from."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    anchor = package[:len(package) - (node.level - 1)]
    return ".".join([*anchor, *([node.module] if node.module else [])])


def _targets(module: str, path: Path, node: ast.AST) -> list[str]:
    """Names of the modules an import statement names (project or not)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = _base(module, path, node)
        return [base, *(f"{base}.{alias.name}" for alias in node.names)]
    return []


def import_graph() -> dict[str, dict[str, int]]:
    """Module -> {project module it imports: line of the first such import}."""
    files = project_files()
    graph = {}
    for module, path in files.items():
        edges = graph[module] = {}
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            for target in _targets(module, path, node):
                if target in files and target != module:
                    edges.setdefault(target, node.lineno)
    return graph


def circles(graph: dict[str, dict[str, int]]) -> set[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), set()
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(graph[successor])))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.add(frozenset(component))
    return found


def one_cycle(graph: dict[str, dict[str, int]], component: frozenset[str]) -> list[str]:
    """A shortest import cycle through the first module of ``component``, closed (first == last)."""
    start = min(component)
    came_from = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for successor in graph[node]:
            if successor == start:
                path = [node]
                while came_from[path[-1]] is not None:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if successor in component and successor not in came_from:
                came_from[successor] = node
                queue.append(successor)
    raise AssertionError(f"{sorted(component)} is no circle")


def describe(graph: dict[str, dict[str, int]], component: frozenset[str]) -> str:
    """A circle's modules, one cycle through them, and every import between them (with its line)."""
    cycle = one_cycle(graph, component)
    ties = [(a, b) for a in sorted(component) for b in sorted(graph[a]) if b in component]
    return (f"{len(component)} modules {sorted(component)}\n  cycle: {' -> '.join(cycle)}\n  ties: "
            + ", ".join(f"{a} -> {b} (line {graph[a][b]})" for a, b in ties))


def test_no_import_circles() -> None:
    graph = import_graph()
    found = circles(graph)
    for component in sorted(found, key=sorted):
        print(("allowed " if component in ALLOWED else "circle ") + describe(graph, component))
    unexpected = [describe(graph, c) for c in sorted(found - ALLOWED, key=sorted)]
    assert not unexpected, "import circles:\n" + "\n".join(unexpected)
    assert not ALLOWED - found, f"no longer circles, remove them from ALLOWED: {sorted(map(sorted, ALLOWED - found))}"


def test_graph_reads_relative_and_lazy_imports() -> None:
    """The graph sees the kinds of import the circles above are made of."""
    graph = import_graph()
    assert "colorcore.io" in graph["colorcore.checkpoints"]  # from .io import ... (a package)
    assert "colorcore.paths" in graph["app_cache"]  # from colorcore import paths (a submodule by name)
    assert "app_cache" in graph["pages.colorize"]  # import app_cache as ac
    assert "app_cache" in graph["app_widgets"]  # from app_cache import ... (a root module)
    assert "colorcore.train" in graph["colorcore.cli"]  # an import inside a function
    assert "colorcore.models.base" in graph["colorcore.checkpoints"]  # under if TYPE_CHECKING:


#: The registry's names of model kinds (colorcore.models).
MODEL_KINDS = {"REGRESSION", "CLASSIFICATION", "BLEND"}


def _attribute_reads(tree: ast.AST) -> list[tuple[int, str]]:
    """``(line, what)`` for each model-kind comparison (``<x>.kind == / != / in``) and each read of the
    recorded training configuration by key (``<x>.get("train_config", ...)``, ``<x>["train_config"]``)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and isinstance(node.left, ast.Attribute) and node.left.attr == "kind" \
                and any(getattr(c, "id", getattr(c, "attr", None)) in MODEL_KINDS for c in node.comparators):
            found.append((node.lineno, "a model-kind test"))
        key = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" and node.args:
            key = node.args[0]
        elif isinstance(node, ast.Subscript):
            key = node.slice
        if isinstance(key, ast.Constant) and key.value == "train_config":
            found.append((node.lineno, "train_config read by key"))
    return found


def test_model_kinds_and_training_configs_are_read_through_their_accessors() -> None:
    """A model's kind is asked of its registry entry (``ModelSpec.classifies``, ...), a checkpoint's training
    configuration of :func:`colorcore.metadata.train_config`; nowhere else by hand."""
    homes = {"colorcore.models", "colorcore.metadata"}
    bad = [f"{path.relative_to(ROOT)}:{line}: {what}" for module, path in sorted(project_files().items())
           if module not in homes for line, what in _attribute_reads(ast.parse(path.read_text(encoding="utf-8")))]
    assert not bad, "\n".join(bad)
