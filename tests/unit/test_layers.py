"""The import layers stay true: kernel -> science -> pipeline -> flows -> interfaces.

Every import of every module (module level and inside functions: a lazy import is still a
dependency) is read with :mod:`ast`. A module may import its own layer or a lower one; inside
the science layer chem is the ground, simulation and lab_sync may use chem (not each other),
ranking may use all three. The kernel imports nothing of ours. Science and the pipeline never
import Prefect. No circle between modules, none between packages. The rules are also checked
against made-up upward imports, so the test cannot pass by reading nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Top-level package -> (layer rank, allowed top-level packages of ours).
LAYERS: dict[str, tuple[int, frozenset[str]]] = {
    "moltwin": (0, frozenset({"moltwin"})),
    "chem": (1, frozenset({"moltwin", "chem"})),
    "simulation": (1, frozenset({"moltwin", "chem", "simulation"})),
    "lab_sync": (1, frozenset({"moltwin", "chem", "lab_sync"})),
    "ranking": (1, frozenset({"moltwin", "chem", "simulation", "lab_sync", "ranking"})),
    "pipeline": (2, frozenset({"moltwin", "chem", "simulation", "lab_sync", "ranking", "pipeline"})),
    "flows": (3, frozenset({"moltwin", "chem", "simulation", "lab_sync", "ranking", "pipeline", "flows"})),
    "interfaces": (4, frozenset({"moltwin", "chem", "simulation", "lab_sync", "ranking", "pipeline", "flows",
                                 "interfaces"})),
}
#: Packages that must run without Prefect.
NO_PREFECT = frozenset({"moltwin", "chem", "simulation", "lab_sync", "ranking", "pipeline"})


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported_names(path: Path) -> list[tuple[str, int]]:
    """Every module ``path`` imports (absolute names, relative imports resolved), with line numbers."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((target, node.lineno))
            # "from pipeline import stages" imports the module pipeline.stages
            found.extend((f"{target}.{alias.name}", node.lineno) for alias in node.names)
    return found


def our_modules() -> dict[str, Path]:
    modules = {}
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            modules[module_name(path)] = path
    return modules


def import_edges(modules: dict[str, Path]) -> list[tuple[str, str, int]]:
    """(importer, imported module of ours, line) for every import between our modules."""
    edges = []
    for name, path in modules.items():
        for target, line in imported_names(path):
            if target in modules and target != name:
                edges.append((name, target, line))
    return edges


def layer_violations(edges: list[tuple[str, str, int]]) -> list[str]:
    bad = []
    for src, dst, line in edges:
        src_top, dst_top = src.split(".")[0], dst.split(".")[0]
        if dst_top not in LAYERS[src_top][1]:
            bad.append(f"{src}:{line} imports {dst} ({src_top} may not import {dst_top})")
    return bad


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def package_of(module: str, modules: dict[str, Path]) -> str:
    return module if modules[module].name == "__init__.py" else module.rsplit(".", 1)[0]


@pytest.fixture(scope="module")
def modules() -> dict[str, Path]:
    return our_modules()


@pytest.fixture(scope="module")
def edges(modules) -> list[tuple[str, str, int]]:
    return import_edges(modules)


def test_the_checker_reads_the_tree(modules, edges):
    assert len(modules) > 100 and len(edges) > 300
    assert ("pipeline.stages", "pipeline.run_context") in {(a, b) for a, b, _ in edges}


def test_no_import_runs_up_a_layer(edges):
    assert layer_violations(edges) == []


def test_the_layer_rules_catch_upward_and_sideways_imports():
    made_up = [("chem.filters", "pipeline.stages", 1), ("simulation.run", "lab_sync.store", 2),
               ("lab_sync.upload", "interfaces.web.app", 3), ("moltwin.paths", "chem.io", 4),
               ("ranking.score", "flows.screen", 5), ("pipeline.stages", "flows.sync_trigger", 6),
               ("flows.screen", "interfaces.cli", 7)]
    assert len(layer_violations(made_up)) == len(made_up)
    assert layer_violations([("ranking.merge", "lab_sync.store", 1), ("interfaces.cli.run", "flows.screen", 2),
                             ("pipeline.stages", "simulation.run", 3)]) == []


def test_no_circle_between_modules(modules, edges):
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for src, dst, _ in edges:
        if package_of(src, modules) == src and dst.startswith(src + "."):
            continue  # a package's __init__ handing on its own modules is not a dependency circle
        graph[src].add(dst)
    assert cycles(graph) == []
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]


def test_no_circle_between_packages(modules, edges):
    graph: dict[str, set[str]] = {}
    for src, dst, _ in edges:
        a, b = package_of(src, modules), package_of(dst, modules)
        if a != b and not b.startswith(a + "."):
            graph.setdefault(a, set()).add(b)
    assert cycles(graph) == []


def test_science_and_pipeline_run_without_prefect(modules):
    bad = [f"{name}:{line}" for name, path in modules.items() if name.split(".")[0] in NO_PREFECT
           for target, line in imported_names(path) if target.split(".")[0] == "prefect"]
    assert bad == []
