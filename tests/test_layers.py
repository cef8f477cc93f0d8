"""The package's layers: every import (also those inside functions) points to the same or a lower
part, and no module imports itself through others (no cycle).

Parts from the bottom: ``envs`` < ``learners`` < ``training`` < ``running`` < the commands
(``softq_tf/<name>.py``: train, evaluate, sweep, ...). Run alone with
``python -m pytest tests/test_layers.py``.
"""
import ast
import pathlib

import softq_tf

PACKAGE = pathlib.Path(softq_tf.__file__).parent
LAYERS = {"envs": 0, "learners": 1, "training": 2, "running": 3}
COMMANDS = 4
ROOT = pathlib.Path(__file__).resolve().parent.parent
LINE_LENGTH_LIMIT = 100  # pyproject.toml: [tool.ruff] line-length
CHECKED_FOLDERS = ("softq_tf", "paper_repro", "tests")


def module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module):
    parts = module.split(".")
    if len(parts) == 1:
        return COMMANDS  # the package's __init__
    return LAYERS.get(parts[1], COMMANDS)


def imports_of(path):
    """The softq_tf modules ``path`` imports, anywhere in it (``from softq_tf.x import y`` counts
    ``softq_tf.x.y`` when that is a module, else ``softq_tf.x``)."""
    modules = {module_name(p) for p in PACKAGE.rglob("*.py")}
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("softq_tf"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("softq_tf"):
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in modules else node.module)
    return found - {"softq_tf"}


def graph():
    return {module_name(p): imports_of(p) for p in PACKAGE.rglob("*.py")}


def test_no_module_imports_a_higher_part():
    upward = [f"{module} ({layer_of(module)}) imports {target} ({layer_of(target)})"
              for module, targets in graph().items() for target in targets
              if layer_of(target) > layer_of(module)]
    assert not upward, upward


def test_no_import_cycle():
    edges, cycles = graph(), []

    def visit(module, path):
        for target in sorted(edges.get(module, ())):
            if target in path:
                cycles.append(path[path.index(target):] + [target])
            elif target not in done:
                visit(target, path + [target])
        done.add(module)

    done = set()
    for module in sorted(edges):
        if module not in done:
            visit(module, [module])
    # A package's __init__ importing its own submodules is no cycle of code.
    cycles = [c for c in cycles if not all(m.startswith(c[0]) for m in c if m != c[0])]
    assert not cycles, cycles


def test_no_module_over_400_lines():
    long = {module_name(p): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 400}
    assert not long, long


def test_no_line_over_100_characters():
    """Every line of every .py file under softq_tf/, paper_repro/ and tests/ (code, docstrings and
    comments alike, also lines ruff's E501 lets pass for a ``# noqa`` pragma) is at most
    ``LINE_LENGTH_LIMIT`` characters; a failure names each long line as ``file:line``."""
    paths = sorted(p for folder in CHECKED_FOLDERS for p in (ROOT / folder).rglob("*.py"))
    assert paths, f"no .py files under {ROOT}"
    long = [f"{path.relative_to(ROOT)}:{number} ({len(line)} characters)"
            for path in paths
            for number, line in enumerate(path.read_text().splitlines(), start=1)
            if len(line) > LINE_LENGTH_LIMIT]
    assert not long, f"lines over {LINE_LENGTH_LIMIT} characters: {long}"
