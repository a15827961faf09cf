"""How often a "wrong" answer of the simulated models passes HumanEval's real tests anyway.

Draws wrong answers the way the server does (``ecoptigen.sim._humaneval.mutant``, with the share of
programs that do not run that ordinary models get), runs each distinct one against its problem's
real tests in the sandbox, and reports the share of draws that pass: answers the sim counts as wrong
but an evaluation counts as right.

Run: python benchmarks/sim_mutant_false_passes.py [--draws 30] [--name sim_mutant_false_passes] [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import random
from concurrent.futures import ThreadPoolExecutor

from _common import add_common_args, write_results

from ecoptigen.sandbox import get_sandbox
from ecoptigen.sim import _humaneval as he

BROKEN_SHARE = 0.12  # what models with pass@1 of 0.1 and above get (see sim/_behaviour.py)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=30, help="wrong answers drawn per problem")
    parser.add_argument("--name", default="sim_mutant_false_passes", help="results file name")
    add_common_args(parser)
    args = parser.parse_args()
    if args.quick:
        args.draws = 1

    draws = [
        (problem, he.mutant(problem, random.Random(f"bench|{task_id}|{i}"), BROKEN_SHARE))
        for task_id, problem in he.problems().items()
        for i in range(args.draws)
    ]
    distinct = {(problem.task_id, body): problem for problem, body in draws}
    sandbox = get_sandbox()

    def passes(key: tuple[str, str]) -> bool:
        problem = distinct[key]
        program = f"{problem.prompt}{key[1]}\n\n{problem.test}\n\ncheck({problem.entry_point})\n"
        return sandbox.run(program, timeout=5).passed

    with ThreadPoolExecutor(4) as pool:
        verdicts = dict(zip(distinct, pool.map(passes, distinct), strict=True))
    passing = [problem.task_id for problem, body in draws if verdicts[(problem.task_id, body)]]
    per_problem: dict[str, int] = {}
    for task_id in passing:
        per_problem[task_id] = per_problem.get(task_id, 0) + 1
    write_results(
        args.name,
        {
            "benchmark": "share of the sim's wrong answers that pass HumanEval's real tests (sandboxed)",
            "isolation": sandbox.isolation,
            "draws": len(draws),
            "distinct_programs": len(distinct),
            "false_passes": len(passing),
            "false_pass_rate": round(len(passing) / len(draws), 4),
            "problems_with_false_passes": len(per_problem),
            "worst_problems": dict(sorted(per_problem.items(), key=lambda kv: -kv[1])[:10]),
        },
        args,
    )


if __name__ == "__main__":
    main()
