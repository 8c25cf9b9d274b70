"""The engine's modules import each other without circles.

A circle (a imports b, b imports a, however many modules lie between) means a helper lives in
the wrong module; an import deferred into a function only hides one, so those count too.
And the learner's verbs load without the test-time libraries, which cost them more than the
rest of their work.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import aiokata

PACKAGE = Path(aiokata.__file__).parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "templates" in path.relative_to(PACKAGE).parts:
            continue  # `aiokata new` fills these in: they are not modules
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts).removesuffix(".__init__")] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The kit's modules that `name` imports, at its top or inside any function."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                head = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*head, base] if base else head)
            for alias in node.names:
                # `from aiokata import checks` imports the module aiokata.checks
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {m for m in found if m in modules and m != name}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every group of modules that reach each other (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while group[-1:] != [node]:
                group.append(stack.pop())
            if len(group) > 1:
                circles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return circles


def test_the_engine_has_no_import_circles():
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    circles = _circles(graph)
    assert not circles, "modules that import each other, directly or through others:\n" + "\n".join(
        "  " + ", ".join(group) for group in circles
    )


def test_a_circle_is_found_however_long():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _circles(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize(
    "modules",
    [
        "aiokata.cli",
        # what `aiokata grade` loads in its own process (pytest runs in the graded child)
        "aiokata.grading.formats, aiokata.grading.runner, aiokata.grading.saved",
    ],
)
def test_the_command_line_loads_without_pytest_or_hypothesis(modules: str):
    # `aiokata hint 3` took 0.45 s when the CLI imported pytest and hypothesis, 0.2 s without;
    # `aiokata grade` paid 0.2 s of them for each run, through grading.model's use of results
    loaded = subprocess.run(
        [sys.executable, "-c", f"import sys, {modules}; print(sorted(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("'")
    heavy = sorted({m.split(".")[0] for m in loaded} & {"pytest", "_pytest", "hypothesis"})
    assert not heavy, (
        f"importing {modules} loads {heavy}: a module these import brings it in at its top; "
        "import it inside the function that needs it, or move the helper to a lighter module"
    )
