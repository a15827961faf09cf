"""The import graph of ``src/ecoptigen``, read from the code: the architecture the folders promise.

Every import counts, including those inside functions. A *part* is a subpackage (``ecoptigen.oai``,
``ecoptigen.tuning``, ...) or a top-level module (``ecoptigen.errors``); the package's own
``__init__`` (its public face) is left out. The layers, top to bottom (docs/architecture.md draws them):

* ``code_utils`` (FLAML's code helpers) over ``oai`` (the facade FLAML users import);
* ``tuning`` (EcoOptiGen), which may use the client and never ``oai``;
* ``client`` (the request engine), ``sim`` (the simulated endpoint, independent of the client) and
  ``distributed`` (eval_func on Ray);
* ``money`` (catalog, prices, tokens, ledger);
* ``run_context`` (what belongs to one run; the ledgers stack in it), ``sandbox`` (a leaf: nothing of
  ecoptigen but ``errors``) and ``datasets``;
* ``errors``, which every part may raise.

A part imports only parts of a lower layer, so no arrow runs back up and no circle can form.
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


# Each part's layer, top (high) to bottom; a new part must be placed here before it can be imported.
LAYERS = {
    "ecoptigen.code_utils": 6,
    "ecoptigen.oai": 5,
    "ecoptigen.tuning": 4,
    "ecoptigen.client": 3,
    "ecoptigen.sim": 3,
    "ecoptigen.distributed": 3,
    "ecoptigen.money": 2,
    "ecoptigen.run_context": 1,
    "ecoptigen.sandbox": 1,
    "ecoptigen.datasets": 1,
    "ecoptigen.errors": 0,
}


def _edges() -> dict[str, set[str]]:
    """part -> the other parts it imports."""
    edges: dict[str, set[str]] = defaultdict(set)
    for module, imported in GRAPH.items():
        if module == "ecoptigen":
            continue
        for name in imported:
            if name != "ecoptigen" and _part(name) != _part(module):
                edges[_part(module)].add(_part(name))
    return edges


EDGES = _edges()


def test_the_graph_is_read():
    assert "ecoptigen.client" in GRAPH["ecoptigen.tuning._evaluate"]
    assert "ecoptigen.client._engine" in GRAPH["ecoptigen.client"]
    assert "ecoptigen.sandbox" in GRAPH["ecoptigen.code_utils"]
    assert "ecoptigen.money" in EDGES["ecoptigen.client"]


def test_every_part_has_a_layer():
    parts = {_part(module) for module in GRAPH if module != "ecoptigen"}
    assert parts - set(LAYERS) == set(), "place the new part in LAYERS (and in docs/architecture.md)"


def test_parts_import_only_lower_layers():
    upward = [
        f"{part} (layer {LAYERS[part]}) imports {target} (layer {LAYERS[target]})"
        for part, targets in EDGES.items()
        for target in sorted(targets)
        if LAYERS[target] >= LAYERS[part]
    ]
    assert upward == []


def test_the_named_rules():
    assert "ecoptigen.oai" not in EDGES["ecoptigen.tuning"], "tuning must not depend on oai"
    assert EDGES["ecoptigen.sandbox"] <= {"ecoptigen.errors"}, "the sandbox is a leaf"
    assert EDGES["ecoptigen.sim"].isdisjoint({"ecoptigen.client", "ecoptigen.oai", "ecoptigen.tuning"}), (
        "the simulator is independent of the client"
    )
    assert EDGES["ecoptigen.run_context"] <= {"ecoptigen.errors"}, "the run context is below everything else"
    assert EDGES["ecoptigen.money"] <= {"ecoptigen.errors", "ecoptigen.run_context"}, "money is below the client"


def test_the_top_level_holds_at_most_8_modules_besides_packages():
    modules = [p.name for p in ROOT.glob("*.py") if p.name != "__init__.py"]
    assert len(modules) <= 8, sorted(modules)


def test_parts_import_each_other_without_a_loop():
    edges = EDGES
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
