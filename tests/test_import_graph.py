"""The import graph of ``src/ecoptigen``, read from the code: the architecture the folders promise.

Every import counts, including those inside functions. A *part* is a subpackage (``ecoptigen.oai``,
``ecoptigen.tuning``, ...) or a top-level module (``ecoptigen.spend``); the package's own
``__init__`` (its public face) is left out.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import ecoptigen

ROOT = Path(ecoptigen.__file__).parent


def _module_name(path: Path) -> str:
    parts = ["ecoptigen", *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The ecoptigen modules ``path`` imports (``from a import b`` counts ``a.b`` when that is a module)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    known = {_module_name(p) for p in ROOT.rglob("*.py")}
    return {name for name in found if name in known and name != module}


def _part(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2])


GRAPH = {_module_name(path): _imports(path) for path in sorted(ROOT.rglob("*.py"))}


def test_the_graph_is_read():
    assert "ecoptigen.prompts" in GRAPH["ecoptigen.tuning.evaluate"]
    assert "ecoptigen.oai.engine" in GRAPH["ecoptigen.oai.completion"]
    assert "ecoptigen.sandbox" in GRAPH["ecoptigen.code_utils"]


def test_parts_import_each_other_without_a_loop():
    edges = defaultdict(set)
    for module, imported in GRAPH.items():
        if module == "ecoptigen":
            continue
        for name in imported:
            if name != "ecoptigen" and _part(name) != _part(module):
                edges[_part(module)].add(_part(name))
    assert "ecoptigen.oai" not in edges["ecoptigen.tuning"], "tuning must not depend on oai"
    visiting, done = set(), set()

    def visit(part, path):
        assert part not in visiting, f"import loop: {' -> '.join([*path, part])}"
        if part in done:
            return
        visiting.add(part)
        for target in sorted(edges[part]):
            visit(target, [*path, part])
        visiting.discard(part)
        done.add(part)

    for part in sorted(edges):
        visit(part, [])


def test_no_module_imports_another_parts_private_module():
    offences = [
        f"{module} imports {name}"
        for module, imported in GRAPH.items()
        for name in imported
        if any(piece.startswith("_") and not piece.startswith("__") for piece in name.split(".")[2:])
        and _part(name) != _part(module)
    ]
    assert offences == []
