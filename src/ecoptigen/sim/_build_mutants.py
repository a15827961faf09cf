"""Build ``sim/data/humaneval_mutants.json.gz``: wrong answers verified to fail HumanEval's real tests.

A wrong answer of a simulated model is the canonical solution with one or two small AST edits of the
kinds real models make (a flipped comparison, a constant off by one, ``+``/``-`` swapped, ``and``/``or``
swapped, an edge-case branch dropped, ``min``/``max``, ``lower``/``upper`` and the like confused, a
separator changed). Some edited programs still pass the hidden tests (about one in twenty with two
edits), so the server cannot make them up at request time and call them wrong: this script makes
candidates offline, runs each against its problem's tests in the sandbox (twice, so a program whose
result depends on hash order or timing is dropped), and keeps those that fail. The server then only
picks from the file, and runs no code.

It also records, for every shipped mutant, whether it passes the assertions built from its
problem's docstring examples (``PLAUSIBILITY_FILE``): real models' wrong answers usually satisfy the
examples they were shown, and the server prefers those.

Run (takes a few minutes; needs a working sandbox):
    python -m ecoptigen.sim._build_mutants [--workers 4] [--plausibility-only]
"""

from __future__ import annotations

import argparse
import ast
import gzip
import json
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import cast

from ecoptigen.sandbox import get_sandbox
from ecoptigen.sim._humaneval import (
    MUTANTS_FILE,
    MUTANTS_FORMAT,
    PLAUSIBILITY_FILE,
    Problem,
    entry_def,
    example_pairs,
    mutant_key,
    problems,
    render_body,
    shipped_mutants,
)

__all__ = ["ast_mutant", "build", "main"]

CANDIDATES = 24  # mutants tried per problem
KEEP = 12  # verified mutants kept per problem, in the order they were made
TIMEOUT = 3.0  # seconds; a mutant that loops is dropped too (it would only slow evaluations down)
_NO_OP = "    return None\n"  # for a problem whose solution offers nothing to edit

_FLIPS: dict[type, type] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
}
_BINOPS: dict[type, type] = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.FloorDiv, ast.Mod: ast.FloorDiv}
# The builtin or method a model confuses with its twin.
_TWINS = {"min": "max", "max": "min", "any": "all", "all": "any"}
_METHOD_TWINS = {
    "lower": "upper",
    "upper": "lower",
    "startswith": "endswith",
    "endswith": "startswith",
    "islower": "isupper",
    "isupper": "islower",
    "isdigit": "isalpha",
    "isalpha": "isdigit",
}


def ast_mutant(problem: Problem, rng: random.Random, edits: int = 2) -> str:
    """The canonical body with ``edits`` small edits: plausible, and usually (not always) wrong."""
    function = ast.parse(ast.unparse(entry_def(problem))).body[0]
    assert isinstance(function, ast.FunctionDef)  # parsed from a FunctionDef just above
    sites = _mutation_sites(function)
    if not sites:
        return _NO_OP
    for kind, node, position in rng.sample(sites, min(edits, len(sites))):
        _mutate(kind, node, position, rng)
    return render_body(function) or _NO_OP


def _mutation_sites(function: ast.FunctionDef) -> list[tuple[str, ast.AST, int]]:
    sites: list[tuple[str, ast.AST, int]] = []
    for node in ast.walk(function):
        if isinstance(node, ast.Compare):
            sites += [("compare", node, i) for i, op in enumerate(node.ops) if type(op) in _FLIPS]
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            sites.append(("constant", node, 0))
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            sites.append(("binop", node, 0))
        elif isinstance(node, ast.If):
            sites.append(("edge_case", node, 0))
        elif isinstance(node, ast.BoolOp):
            sites.append(("boolop", node, 0))
        elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
            sites.append(("bool", node, 0))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) <= 2:
            sites.append(("string", node, 0))  # a separator or a digit, not the docstring
        elif isinstance(node, ast.Name) and node.id in _TWINS:
            sites.append(("builtin", node, 0))
        elif isinstance(node, ast.Attribute) and node.attr in _METHOD_TWINS:
            sites.append(("method", node, 0))
    return sites


def _mutate(kind: str, node: ast.AST, position: int, rng: random.Random) -> None:
    if kind == "compare":
        assert isinstance(node, ast.Compare)
        node.ops[position] = _FLIPS[type(node.ops[position])]()
    elif kind == "constant":
        assert isinstance(node, ast.Constant)
        node.value = cast(int, node.value) + rng.choice([-1, 1])
    elif kind == "binop":
        assert isinstance(node, ast.BinOp)
        node.op = _BINOPS[type(node.op)]()
    elif kind == "boolop":
        assert isinstance(node, ast.BoolOp)
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif kind == "bool":
        assert isinstance(node, ast.Constant)
        node.value = not node.value
    elif kind == "string":
        assert isinstance(node, ast.Constant)
        node.value = "" if node.value else " "
    elif kind == "builtin":
        assert isinstance(node, ast.Name)
        node.id = _TWINS[node.id]
    elif kind == "method":
        assert isinstance(node, ast.Attribute)
        node.attr = _METHOD_TWINS[node.attr]
    else:  # drop the branch that handles an edge case
        assert isinstance(node, ast.If)
        node.test = ast.Constant(value=False)


def candidates(problem: Problem, edits: tuple[int, ...] = (1, 2)) -> list[str]:
    """Distinct mutants of ``problem`` that differ from its canonical solution, in a fixed order."""
    canonical = render_body(entry_def(problem))
    found: list[str] = []
    for count in edits:
        for i in range(CANDIDATES):
            body = ast_mutant(problem, random.Random(f"mutant|{problem.task_id}|{count}|{i}"), count)
            if body != canonical and body not in found:
                found.append(body)
    return found


def checked_program(problem: Problem, body: str) -> str:
    """The program that runs ``body`` against the problem's real tests."""
    return f"{problem.prompt}{body}\n\n{problem.test}\n\ncheck({problem.entry_point})\n"


def build(workers: int = 4) -> dict[str, list[str]]:
    """Verified mutants per task id (each failed its tests in two sandboxed runs)."""
    sandbox = get_sandbox()

    def fails_twice(item: tuple[Problem, str]) -> bool:
        program = checked_program(*item)
        return all(sandbox.run(program, timeout=TIMEOUT).verdict == "failed" for _ in range(2))

    kept: dict[str, list[str]] = {task_id: [] for task_id in problems()}
    # More edits only where fewer left no failing program; the last resort always fails.
    for edits in ((1, 2), (3, 4), ()):
        todo = [p for p in problems().values() if not kept[p.task_id]]
        work = [(p, body) for p in todo for body in (candidates(p, edits) if edits else [_NO_OP])]
        with ThreadPoolExecutor(workers) as pool:
            verdicts = list(pool.map(fails_twice, work))
        for (problem, body), failed in zip(work, verdicts, strict=True):
            if failed and len(kept[problem.task_id]) < KEEP:
                kept[problem.task_id].append(body)
    return kept


def examples_program(problem: Problem, body: str) -> str:
    """The program that runs ``body`` against the problem's docstring examples, as asserts."""
    asserts = "\n".join(f"assert {call} == {expected}" for call, expected in example_pairs(problem))
    return f"{problem.prompt}{body}\n\n{asserts}\n"


def plausibility(workers: int = 4) -> dict[str, dict[str, bool]]:
    """For each shipped mutant (by ``mutant_key``): does it pass its problem's docstring examples?"""
    sandbox = get_sandbox()
    work = [(p, body) for p in problems().values() for body in shipped_mutants().get(p.task_id, ())]

    def passes(item: tuple[Problem, str]) -> bool:
        return sandbox.run(examples_program(*item), timeout=TIMEOUT).verdict == "passed"

    with ThreadPoolExecutor(workers) as pool:
        verdicts = list(pool.map(passes, work))
    table: dict[str, dict[str, bool]] = {}
    for (problem, body), passed in zip(work, verdicts, strict=True):
        table.setdefault(problem.task_id, {})[mutant_key(body)] = passed
    return table


def write(mutants: dict[str, list[str]], path: Path) -> None:
    """Write the file byte for byte the same for the same mutants (no timestamp in the gzip header)."""
    _write_json({"format": MUTANTS_FORMAT, "mutants": mutants}, path)


def _write_json(data: dict, path: Path) -> None:
    payload = json.dumps(data, sort_keys=True, indent=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(payload.encode(), compresslevel=9, mtime=0))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build the sim's verified HumanEval mutants.")
    parser.add_argument("--workers", type=int, default=4, help="sandboxed runs in parallel")
    parser.add_argument("--output", type=Path, default=Path(__file__).parent / "data" / MUTANTS_FILE)
    parser.add_argument("--plausibility-only", action="store_true", help="keep the mutants, redo the examples check")
    args = parser.parse_args(argv)
    plausibility_path = args.output.parent / PLAUSIBILITY_FILE
    if args.plausibility_only:
        _write_json({"format": 1, "passes_examples": plausibility(args.workers)}, plausibility_path)
        print(f"written to {plausibility_path}")
        return
    mutants = build(args.workers)
    empty = sorted(task_id for task_id, bodies in mutants.items() if not bodies)
    write(mutants, args.output)
    shipped_mutants.cache_clear()
    _write_json({"format": 1, "passes_examples": plausibility(args.workers)}, plausibility_path)
    total = sum(map(len, mutants.values()))
    print(f"{total} verified mutants for {len(mutants) - len(empty)} problems written to {args.output}")
    if empty:
        raise SystemExit(f"no verified mutant for {empty}; raise CANDIDATES or add mutation kinds")


if __name__ == "__main__":
    main()
