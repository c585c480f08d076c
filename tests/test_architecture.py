"""The import graph, read from the source: no cycle among chathub's modules or among the benches, and no page
imports a driver (pages read channel metadata through services).

Every import counts, also one inside a function: a lazy import hides a cycle from Python, not from a reader.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def package_modules(package_dir: Path) -> dict[str, Path]:
    """Dotted name -> file for every module of the package at `package_dir` (a package is named by its
    __init__.py)."""
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imported_modules(path: Path, module: str, known: Collection[str]) -> set[str]:
    """The modules of `known` that `path` (the module `module`) imports anywhere in its body, relative imports
    resolved. `from a import b` is an import of a.b when that is a module, else of a: `from chathub.pages
    import session` imports chathub.pages.session (Python runs the package's __init__ first, but that does
    not import the page that asked)."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(_nearest(alias.name, known) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else _nearest(base, known))
    return found - {None, module}


def _nearest(name: str, known: Collection[str]) -> str | None:
    """`name` or the closest package above it that is in `known` (None: an outside module)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules of the same set it imports."""
    return {module: imported_modules(path, module, modules) for module, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One shortest cycle through each group of modules that import each other (strongly connected
    components, Tarjan), as [a, b, ..., a]."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_shortest_cycle(graph, group) for group in groups]


def _shortest_cycle(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node] & group):
                if target == start:
                    return [*paths[node], start]
                if target not in paths:
                    paths[target] = [*paths[node], target]
                    following.append(target)
        frontier = following
    raise AssertionError(f"no cycle through {start} in {sorted(group)}")


def named(found: Iterable[list[str]]) -> str:
    return "\n".join(" -> ".join(cycle) for cycle in found)


def bench_graph() -> dict[str, set[str]]:
    """bench/ is no package: a bench runs as a script and imports its neighbours by their file name."""
    return import_graph({path.stem: path for path in sorted((ROOT / "bench").glob("*.py"))})


def test_no_chathub_module_imports_itself_through_others():
    found = cycles(import_graph(package_modules(ROOT / "chathub")))
    assert not found, f"import cycles in chathub/:\n{named(found)}"


def test_no_bench_imports_itself_through_others():
    found = cycles(bench_graph())
    assert not found, f"import cycles in bench/:\n{named(found)}"


def test_no_page_imports_a_driver():
    graph = import_graph(package_modules(ROOT / "chathub"))
    offenders = sorted(
        f"{page} imports {target}"
        for page, targets in graph.items()
        if page == "chathub.pages" or page.startswith("chathub.pages.")
        for target in targets
        if target == "chathub.drivers" or target.startswith("chathub.drivers.")
    )
    assert not offenders, "pages read channels through services, never drivers:\n" + "\n".join(offenders)


def test_the_walk_finds_a_cycle_hidden_in_a_function_behind_a_relative_import(tmp_path):
    package = tmp_path / "shop"
    (package / "pages").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "pages" / "__init__.py").write_text("from shop.pages import cart\n")
    (package / "pages" / "cart.py").write_text("from . import checkout\n")
    (package / "pages" / "checkout.py").write_text("def page():\n    from .cart import total\n")
    (package / "models.py").write_text("import shop.pages.cart\n")

    graph = import_graph(package_modules(package))

    assert graph["shop.pages"] == {"shop.pages.cart"}
    assert graph["shop.models"] == {"shop.pages.cart"}
    assert named(cycles(graph)) == "shop.pages.cart -> shop.pages.checkout -> shop.pages.cart"
