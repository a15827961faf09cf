"""How close the simulated endpoint is to published behaviour, along the dimensions tuning moves.

Everything is measured as a user would: requests through the ``openai`` SDK to ``ecoptigen.sim``
(seed 41), answers executed against HumanEval's real tests in ecoptigen's sandbox. Sections:

* ``pass_at_k``: pass@1/10/100 (unbiased estimator of Chen et al. 2021, 100 samples per problem, all
  164 problems) of code-cushman-001 and code-davinci-002 by temperature, and of Codex-12B (not served:
  drawn in-process from the same behaviour model) at its best temperatures; against CodeT Table 2
  and the Codex paper's Table 1 (``ecoptigen.sim._published.PASS_AT_K``).
* ``flaml_runs``: FLAML's logged HumanEval trials replayed with ``oai.Completion.test`` (the same
  configuration, split, stops and metric): success, assertion selection, and completion tokens per
  sample (published ones recovered from the logged ``inference_cost`` and the prices of the time).
* ``assertions``: how often ``generate_assertions``' answer is right (the canonical solution passes
  it) and how strict it is (the share of the shipped wrong answers it rejects).
* ``styles``: greedy success of chat models per prompt template with and without the seed's stops.
* ``math``: the simulated models on MATH-style problems against FLAML's case study and the shape of
  self-consistency's voting curve (``_math_fidelity.py``; run it alone with ``--sections math --name
  sim_fidelity_math``).

Run: python benchmarks/sim_fidelity.py [--sections pass_at_k,flaml_runs,assertions,styles,math]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import openai
from _common import add_common_args, write_results
from _math_fidelity import section_math

from ecoptigen import sim
from ecoptigen.code_utils import GENERATE_ASSERTIONS_PROMPT, eval_function_completions, generate_assertions
from ecoptigen.datasets import load_humaneval
from ecoptigen.sandbox import get_sandbox
from ecoptigen.sim import _behaviour
from ecoptigen.sim import _humaneval as he
from ecoptigen.sim._published import FLAML_RUNS, PASS_AT_K, PRICE_THEN, PROMPTS, STOPS

SEED = 41
PROBLEMS = list(he.problems().values())


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased estimator of Chen et al. (2021): 1 - C(n-c, k) / C(n, k)."""
    if n - c < k:
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


class Verdicts:
    """Whether a completion (prompt + text) passes its problem's real tests; each program run once."""

    def __init__(self) -> None:
        self.known: dict[tuple[str, str], bool] = {}
        self.sandbox = get_sandbox()

    def _run(self, key: tuple[str, str]) -> bool:
        problem = he.problems()[key[0]]
        program = f"{problem.prompt}{key[1]}\n\n{problem.test}\n\ncheck({problem.entry_point})\n"
        return self.sandbox.run(program, timeout=3.0).passed

    def check(self, pairs: list[tuple[str, str]]) -> list[bool]:
        # Comments cannot change what a program does, and samples often differ only in them.
        keys = [(task_id, he.without_comments(text)) for task_id, text in pairs]
        todo = list(dict.fromkeys(k for k in keys if k not in self.known))
        with ThreadPoolExecutor(4) as pool:
            self.known.update(zip(todo, pool.map(self._run, todo), strict=True))
        return [self.known[k] for k in keys]


def _cut(text: str, stops: list[str]) -> str:
    found = [i for i in (text.find(s) for s in stops) if i >= 0]
    return text[: min(found)] if found else text


def _estimates(samples: dict[str, list[str]], verdicts: Verdicts) -> dict[str, float]:
    pairs = [(task_id, text) for task_id, texts in samples.items() for text in texts]
    passed = dict(zip(pairs, verdicts.check(pairs), strict=True))
    result = {}
    for k in (1, 10, 100):
        per_problem = [pass_at_k(len(t), sum(passed[(i, x)] for x in t), k) for i, t in samples.items()]
        result[f"pass@{k}"] = round(statistics.fmean(per_problem), 4)
    return result


def served_samples(client: openai.OpenAI, model: str, temperature: float, n: int) -> dict[str, list[str]]:
    samples = {}
    for problem in PROBLEMS:
        r = client.completions.create(
            model=model, prompt=problem.prompt, n=n, temperature=temperature, top_p=0.95, max_tokens=300, stop=STOPS
        )
        samples[problem.task_id] = [c.text for c in r.choices]
    return samples


def reference_samples(model: str, temperature: float, n: int) -> dict[str, list[str]]:
    rng = random.Random(f"{SEED}|{model}|{temperature}")
    return {
        p.task_id: [_cut(_behaviour.answer(model, p.prompt, temperature, False, rng).text, STOPS) for _ in range(n)]
        for p in PROBLEMS
    }


def section_pass_at_k(client: openai.OpenAI, verdicts: Verdicts) -> dict:
    measured: dict[str, dict] = {}
    for model in ("code-cushman-001", "code-davinci-002"):
        greedy = served_samples(client, model, 0.0, 1)
        measured[model] = {"greedy": _estimates(greedy, verdicts)["pass@1"]}
        for temperature in (0.2, 0.4, 0.6, 0.8, 1.0):
            measured[model][str(temperature)] = _estimates(served_samples(client, model, temperature, 100), verdicts)
    measured["codex-12b"] = {
        str(t): _estimates(reference_samples("codex-12b", t, 100), verdicts) for t in (0.2, 0.4, 0.6, 0.8, 1.0)
    }
    comparison = [
        {
            "model": model,
            "temperature": t,
            "k": k,
            "published": target,
            "simulated": measured[model][str(t)][f"pass@{k}"],
        }
        for model, t, k, target in PASS_AT_K
    ]
    for row in comparison:
        row["difference"] = round(row["simulated"] - row["published"], 4)
    return {"published_vs_simulated": comparison, "by_temperature": measured}


def _rows(split: str) -> list[dict]:
    shuffled = load_humaneval()["test"].shuffle(seed=SEED)
    rows = [{"definition": p["prompt"], "test": p["test"], "entry_point": p["entry_point"]} for p in shuffled]
    return rows[:20] if split == "tune" else rows[20:]


def _tokens_then(run, prompt_tokens: float) -> float:
    """Completion tokens per sample implied by a logged inference_cost and the prices of the time."""
    prompt_price, completion_price = PRICE_THEN[run.model]
    spent = run.published["inference_cost"] * 1000
    return (spent - prompt_tokens * prompt_price) / completion_price / run.n


def section_flaml_runs(server: sim.SimServer) -> dict:
    from ecoptigen import oai

    selected = partial(
        eval_function_completions, assertions=lambda definition: generate_assertions(definition, model="gpt-3.5-turbo")
    )
    out = []
    with tempfile.TemporaryDirectory() as cache:
        oai.Completion.set_cache(seed=SEED, cache_path_root=cache)
        for run in FLAML_RUNS:
            data = _rows(run.split)
            server.reset_stats()
            result = oai.Completion.test(
                data, eval_func=selected if run.assertions else eval_function_completions, **run.config()
            )
            usage = server.stats()["models"].get(run.model, {"prompt_tokens": 0, "completion_tokens": 0})
            prompt_tokens = usage["prompt_tokens"] / len(data)
            row = {
                "source": run.source,
                "split": run.split,
                "config": run.config(),
                "published": run.published,
                "simulated": {
                    k: round(float(result[k]), 4) for k in run.published if k in result and k != "inference_cost"
                },
                "completion_tokens_per_sample": {
                    "published": round(_tokens_then(run, prompt_tokens), 1),
                    "simulated": round(usage["completion_tokens"] / len(data) / run.n, 1),
                },
            }
            out.append(row)
            print(
                run.model,
                run.config()["prompt"][:12],
                row["published"],
                row["simulated"],
                row["completion_tokens_per_sample"],
            )
    return {"runs": out, "summary": _flaml_summary(out)}


def _flaml_summary(rows: list[dict]) -> dict:
    success = [(r["published"]["success"], r["simulated"]["success"]) for r in rows]
    tokens = [
        (r["completion_tokens_per_sample"]["published"], r["completion_tokens_per_sample"]["simulated"])
        for r in rows
        if r["completion_tokens_per_sample"]["published"] > 5
    ]
    return {
        "success_mean_published": round(statistics.fmean(p for p, _ in success), 4),
        "success_mean_simulated": round(statistics.fmean(s for _, s in success), 4),
        "success_mean_abs_difference": round(statistics.fmean(abs(p - s) for p, s in success), 4),
        "tokens_per_sample_ratio_median": round(statistics.median(s / p for p, s in tokens), 3),
    }


def section_assertions(client: openai.OpenAI) -> dict:
    sandbox = get_sandbox()
    out = {}
    for model in ("gpt-4o-mini", "gpt-3.5-turbo"):
        right, lines, rejected, wrong_total = 0, 0, 0, 0
        for problem in PROBLEMS:
            prompt = GENERATE_ASSERTIONS_PROMPT.format(definition=problem.prompt)
            r = client.chat.completions.create(model=model, messages=[{"role": "user", "content": prompt}], stop="\n\n")
            assertions = r.choices[0].message.content or ""
            lines += assertions.count("assert ")
            program = problem.prompt + problem.canonical_solution + "\n" + assertions + "\n"
            right += sandbox.run(program, timeout=3.0).passed
            mutants = he.shipped_mutants()[problem.task_id]
            with ThreadPoolExecutor(4) as pool:
                verdicts = list(
                    pool.map(
                        lambda m, a=assertions, p=problem: (
                            sandbox.run(p.prompt + m + "\n" + a + "\n", timeout=3.0).passed
                        ),
                        mutants,
                    )
                )
            rejected += sum(not v for v in verdicts)
            wrong_total += len(verdicts)
        out[model] = {
            "canonical_passes_generated_assertions": round(right / len(PROBLEMS), 4),
            "assertions_per_problem": round(lines / len(PROBLEMS), 2),
            "wrong_answers_rejected": round(rejected / wrong_total, 4),
        }
        print(model, out[model])
    return out


def section_styles(client: openai.OpenAI) -> dict:
    out: dict[str, dict] = {}
    for model in ("gpt-3.5-turbo", "gpt-4", "gpt-4o"):
        out[model] = {}
        for template in PROMPTS:
            row = {}
            for label, stop in (("with_stops", STOPS), ("without_stops", None)):
                solved = []
                for p in PROBLEMS:
                    messages = [{"role": "user", "content": template.format(definition=p.prompt)}]
                    r = client.chat.completions.create(
                        model=model, messages=messages, temperature=0, max_tokens=600, stop=stop
                    )
                    text = r.choices[0].message.content or ""
                    solved.append(eval_function_completions([text], p.prompt, p.test, p.entry_point)["success"])
                row[label] = round(statistics.fmean(solved), 4)
            out[model][template.replace("{definition}", "") or "(bare)"] = row
        print(model, out[model])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default="pass_at_k,flaml_runs,assertions,styles")
    parser.add_argument("--name", default="sim_fidelity")
    add_common_args(parser)
    args = parser.parse_args()
    sections = args.sections.split(",") if not args.quick else ["assertions", "styles"]
    results: dict = {"benchmark": "the simulator against published figures (issue 16)", "seed": SEED}
    verdicts = Verdicts()
    started = time.perf_counter()
    with (
        sim.serve(seed=SEED) as server,
        openai.OpenAI(base_url=server.base_url, api_key="sk-sim", max_retries=0) as client,
    ):
        os.environ["OPENAI_BASE_URL"], os.environ["OPENAI_API_KEY"] = server.base_url, "sk-sim"
        if "pass_at_k" in sections:
            results["pass_at_k"] = section_pass_at_k(client, verdicts)
        if "flaml_runs" in sections:
            results["flaml_runs"] = section_flaml_runs(server)
        if "assertions" in sections:
            results["assertions"] = section_assertions(client)
        if "styles" in sections:
            results["styles"] = section_styles(client)
        if "math" in sections:
            results["math"] = section_math(client)
    results["seconds"] = round(time.perf_counter() - started, 1)
    write_results(args.name, results, args)


if __name__ == "__main__":
    main()
