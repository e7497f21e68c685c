"""The layout shows the architecture, read from the code's own imports (every ``import`` statement,
at module level or inside a function):

    rules/     the rule base (data compiled into durable-rules)          imports: rules
    advisor/   the library: knowledge, resolution, consultation, scoring imports: advisor, rules
    views/     explanations, what-if, the HTML page, exports             imports: views, advisor, rules
    terminal/  Typer commands, the ask console, completion, Rich         imports: anything but cli
    cli.py, __main__.py: the entry points, the only importers of terminal/
    cachefiles.py: the user's cache directory, a leaf that imports nothing of the project

and no module imports itself back through a chain of others (imports under ``if TYPE_CHECKING:``
never run and are left out).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGES = ("rules", "advisor", "views", "terminal")
ALLOWED = {
    "cachefiles": set(),  # the user's cache directory: a leaf every layer may use
    "rules": {"rules", "cachefiles"},
    "advisor": {"advisor", "rules", "cachefiles"},
    "views": {"views", "advisor", "rules", "cachefiles"},
    "terminal": {"terminal", "views", "advisor", "rules", "cachefiles"},
    "cli": {"terminal", "advisor", "cachefiles"},
    "__main__": {"cli"},
}


def _modules() -> dict[str, Path]:
    mods = {"cli": ROOT / "cli.py", "__main__": ROOT / "__main__.py", "cachefiles": ROOT / "cachefiles.py"}
    for pkg in PACKAGES:
        for f in sorted((ROOT / pkg).glob("*.py")):
            mods[pkg if f.stem == "__init__" else f"{pkg}.{f.stem}"] = f
    return mods


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``name`` imports (``msc_ev.`` left off), relative or absolute."""
    is_pkg = path.name == "__init__.py"
    here = name.split(".") if is_pkg else name.split(".")[:-1]
    out = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for block in [n for n in ast.walk(tree) if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING"]:
        block.body = []  # imports for type checkers only never run
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)] if node.level > 1 else list(here)
                mod = ".".join([*base, *(node.module.split(".") if node.module else [])])
            elif node.module and node.module.startswith("msc_ev"):
                mod = node.module[len("msc_ev."):] if node.module != "msc_ev" else ""
            else:
                continue
            for alias in node.names:  # "from . import x" may name a module
                sub = f"{mod}.{alias.name}" if mod else alias.name
                out.add(sub if sub in known else mod)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("msc_ev."):
                    out.add(alias.name[len("msc_ev."):])
    return {m for m in out if m in known and m != name}


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {name: _imports(name, path, set(mods)) for name, path in mods.items()}


def _layer(module: str) -> str:
    return module.split(".")[0]


def test_every_import_goes_down_the_layers_or_stays_in_its_own():
    graph = _graph()
    assert len(graph) > 40  # the walk found the modules (a wrong root would find none)
    wrong = sorted((m, t) for m, targets in graph.items() for t in targets if _layer(t) not in ALLOWED[_layer(m)])
    assert wrong == []


def test_only_the_entry_points_import_the_terminal_front_end():
    graph = _graph()
    importers = sorted(m for m, targets in graph.items() if _layer(m) != "terminal"
                       and any(_layer(t) == "terminal" for t in targets))
    assert importers == ["cli"]


def test_no_import_cycle():
    graph = _graph()
    cycles, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_the_checker_sees_a_cycle_and_an_upward_import(tmp_path):
    """The oracle itself: a made-up pair of modules that import each other, one of them upward."""
    (tmp_path / "a.py").write_text("from .b import x\n")
    (tmp_path / "b.py").write_text("def f():\n    from msc_ev.terminal import app\n    from . import a\n")
    known = {"advisor.a", "advisor.b", "terminal.app"}
    assert _imports("advisor.a", tmp_path / "a.py", known) == {"advisor.b"}
    assert _imports("advisor.b", tmp_path / "b.py", known) == {"terminal.app", "advisor.a"}


@pytest.mark.parametrize("args", [["--version"], ["advise", "perinatal brain injury", "--format", "json"]])
def test_python_dash_m_msc_ev_is_the_command(args, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "msc_ev", *args], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    if args == ["--version"]:
        assert proc.stdout == "msc-ev 0.1.0\n"
    else:
        assert '"id": "perinatal-brain-injury"' in proc.stdout
