"""The simulator's response surface against published figures: pass@k by temperature, difficulty
shared across models, chat answer styles under stop sequences, generated assertions, answer lengths.

Samples go through the HTTP server and the ``openai`` SDK; whether they are right is decided by
running them against HumanEval's real tests in the sandbox (``humaneval_checks``). The published
figures and their sources are in ``ecoptigen.sim._published``; each test's docstring says where its
tolerance comes from.
"""

import random
import statistics
import sys
from functools import partial
from pathlib import Path

import openai
import pytest

from ecoptigen import sim
from ecoptigen.code_utils import GENERATE_ASSERTIONS_PROMPT, eval_function_completions
from ecoptigen.datasets import load_humaneval
from ecoptigen.sim import _difficulty as dif
from ecoptigen.sim import _humaneval as he
from ecoptigen.sim import _styles
from ecoptigen.sim._published import FLAML_RUNS, GREEDY_PASS_AT_1, PASS_AT_K, STOPS

sys.path.insert(0, str(Path(__file__).parent))
from humaneval_checks import check_unique, pass_at_k

ALL = list(he.problems().values())


@pytest.fixture(scope="module")
def client():
    with sim.serve(seed=41) as server, openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as c:
        yield c


def split(name):
    """The seed workflow's problems: HumanEval shuffled with seed 41, 20 to tune, 144 to test."""
    shuffled = load_humaneval()["test"].shuffle(seed=41)
    problems = [he.problems()[row["task_id"]] for row in shuffled]
    return problems[:20] if name == "tune" else problems[20:]


def expected_pass_at_k(model, tau, k, problems=ALL):
    """The model's own expectation: the mean of 1 - (1 - q)^k over the problems."""
    return statistics.fmean(1 - (1 - dif.p_correct(model, p.task_id, "", tau)) ** k for p in problems)


def completions(client, model, problems, n, temperature, top_p=0.95, prompt="{definition}", max_tokens=300):
    """{task_id: [texts]} for a completion model with the seed's stops."""
    out = {}
    for p in problems:
        r = client.completions.create(
            model=model,
            prompt=prompt.format(definition=p.prompt),
            n=n,
            temperature=temperature,
            top_p=top_p,
            max_tokens=max_tokens,
            stop=STOPS,
        )
        out[p.task_id] = [c.text for c in r.choices]
    return out


def correct_counts(samples):
    by_id = he.problems()
    pairs = [(by_id[task_id], text) for task_id, texts in samples.items() for text in texts]
    verdicts = iter(check_unique(pairs))
    return {task_id: sum(next(verdicts) for _ in texts) for task_id, texts in samples.items()}


# -- pass@k ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("model", "temperature", "k", "published"), PASS_AT_K)
def test_the_model_expects_the_published_pass_at_k(model, temperature, k, published):
    """The behaviour model's expected pass@k (the mean of 1 - (1 - q)^k, which the unbiased estimator
    estimates) is within the issue's +-0.04 of CodeT Table 2 / the Codex paper. The expectation has
    no sampling noise, so the whole tolerance is left for model error; before the per-problem
    difficulty model, code-cushman-001's pass@100 at T=0.8 was 1.00."""
    assert expected_pass_at_k(model, temperature, k) == pytest.approx(published, abs=0.04)


def test_served_samples_are_as_often_right_as_the_model_says(client):
    """code-cushman-001 at T=0.8, 40 problems x 25 samples through the server, checked against the
    real tests. The number right is a sum of 1,000 Bernoulli draws with the model's probabilities:
    it must lie within 4 standard deviations of its expectation. Problems differ: some get no right
    sample out of 25, some only right ones (the old simulator gave every problem the same odds)."""
    problems = ALL[:40]
    counts = correct_counts(completions(client, "code-cushman-001", problems, n=25, temperature=0.8))
    q = [dif.p_correct("code-cushman-001", p.task_id, "", 0.8) for p in problems]
    expected = sum(25 * x for x in q)
    sd = sum(25 * x * (1 - x) for x in q) ** 0.5
    assert abs(sum(counts.values()) - expected) <= 4 * sd + 1
    assert sum(c == 0 for c in counts.values()) >= 6
    assert sum(c == 25 for c in counts.values()) >= 6


@pytest.mark.parametrize("model", ["code-cushman-001", "code-davinci-002"])
def test_pass_at_k_through_the_server_matches_codet(client, model):
    """CodeT's setting end to end: 100 samples per problem at T=0.8, top_p 0.95, all 164 problems,
    the unbiased estimator, verdicts from the real tests. Tolerance: the issue's +-0.04. Over five
    server seeds the sampling standard deviation of this measurement was 0.019 for pass@100 and
    0.005 for pass@10 (benchmarks/sim_fidelity.py), so the check fails only on a real shift."""
    counts = correct_counts(completions(client, model, ALL, n=100, temperature=0.8))
    for k in (10, 100):
        measured = statistics.fmean(pass_at_k(100, c, k) for c in counts.values())
        published = next(p for m, t, kk, p in PASS_AT_K if m == model and kk == k)
        assert measured == pytest.approx(published, abs=0.04), (k, measured)
    greedy = correct_counts(completions(client, model, ALL, n=1, temperature=0.0))
    assert statistics.fmean(greedy.values()) == pytest.approx(GREEDY_PASS_AT_1[model], abs=0.04)


def test_low_temperature_is_best_for_pass_at_1_and_higher_for_pass_at_100():
    """The trade-off of the Codex paper (Figure 5; best T 0.2 for pass@1, 0.8 for pass@100), on the
    model's expectations for Codex-12B and code-cushman-001: no sampling noise, so exact ordering."""
    temperatures = (0.2, 0.4, 0.6, 0.8, 1.0)
    for model in ("codex-12b", "code-cushman-001"):
        pass_1 = [expected_pass_at_k(model, t, 1) for t in temperatures]
        pass_100 = [expected_pass_at_k(model, t, 100) for t in temperatures]
        assert pass_1 == sorted(pass_1, reverse=True)
        assert pass_100[3] > pass_100[0] + 0.05  # T=0.8 beats T=0.2 clearly
        assert pass_100[3] >= max(pass_100) - 0.01  # and is (about) the best
    pass_10 = [expected_pass_at_k("codex-12b", t, 10) for t in temperatures]
    assert 0.4 <= temperatures[pass_10.index(max(pass_10))] <= 0.8


def test_a_problem_hard_for_one_model_is_usually_hard_for_the_next():
    """Greedy verdicts over the 164 problems: a stronger model solves nearly every problem a weaker
    one of its family solves, and mostly across families too; problems the published per-task
    success (three chat models) calls hard are hard here."""

    def solved(model):
        return {p.task_id for p in ALL if dif.greedy_correct(model, p.task_id)}

    cushman, davinci, gpt4 = solved("code-cushman-001"), solved("code-davinci-002"), solved("gpt-4")
    assert len(cushman & davinci) / len(cushman) >= 0.85
    assert len(cushman & gpt4) / len(cushman) >= 0.8
    ranked = sorted(ALL, key=lambda p: dif.published_success()[p.task_id])
    hardest, easiest = ranked[:40], ranked[-40:]
    for model in ("code-cushman-001", "gpt-3.5-turbo", "text-davinci-003"):
        rate = [statistics.fmean(dif.greedy_correct(model, p.task_id) for p in group) for group in (hardest, easiest)]
        assert rate[0] + 0.3 < rate[1], (model, rate)


# -- chat answer styles and stop sequences --------------------------------------------------------
def _cut(text, stops):
    found = [i for i in (text.find(s) for s in stops) if i >= 0]
    return text[: min(found)] if found else text


@pytest.mark.parametrize(
    ("style", "task_id", "survives"),
    [
        ("body", "HumanEval/0", True),  # an indented body holds no "\ndef" or "\nif" at column 0
        ("def", "HumanEval/2", True),  # starts at "def": the stop needs a newline before it
        ("fenced", "HumanEval/2", False),  # "```python\ndef ..." is cut to an unclosed fence
        ("prose", "HumanEval/2", False),
    ],
)
def test_stops_cut_each_answer_style_as_a_real_endpoint_does(style, task_id, survives):
    """The seed's stops applied to each form of a correct chat answer, checked with the workflow's
    own ``eval_function_completions`` (real tests, sandbox)."""
    problem = he.problems()[task_id]
    answer = _styles.chat_answer("gpt-4", problem, problem.canonical_solution, style, "", random.Random(3))
    check = partial(
        eval_function_completions, definition=problem.prompt, test=problem.test, entry_point=problem.entry_point
    )
    assert check([answer])["success"]  # whole, every form is a right answer
    assert check([_cut(answer, STOPS)])["success"] is survives


def test_an_unfenced_def_after_imports_is_cut_to_its_imports():
    problem = he.problems()["HumanEval/0"]  # starts with "from typing import List"
    answers = [
        _styles.chat_answer("gpt-3.5-turbo", problem, problem.canonical_solution, "def", "", random.Random(seed))
        for seed in range(40)
    ]
    with_imports = [a for a in answers if a.startswith("from typing")]
    assert with_imports and len(with_imports) < len(answers)  # often, not always (_KEEP_IMPORTS)
    assert all(_cut(a, STOPS).strip() == "from typing import List" for a in with_imports)


def _greedy_success(client, model, template, stop, problems):
    ok = []
    for p in problems:
        messages = [{"role": "user", "content": template.format(definition=p.prompt)}]
        r = client.chat.completions.create(model=model, messages=messages, temperature=0, max_tokens=600, stop=stop)
        text = r.choices[0].message.content or ""
        ok.append(eval_function_completions([text], p.prompt, p.test, p.entry_point)["success"])
    return statistics.fmean(ok)


def test_stop_sequences_hurt_gpt_35_turbo_much_more_than_gpt_4(client):
    """FLAML's logged runs (20 problems, "# Python 3{definition}", the seed's stops, n=1, T=0.37):
    gpt-3.5-turbo solved 0.20, gpt-4 0.80 -- most of gpt-3.5-turbo's answers were cut to nothing,
    few of gpt-4's. Over all 164 problems greedily: gpt-3.5-turbo with stops must stay within the
    binomial 95% interval of 0.20 on 20 problems (0.06-0.44) and lose most of what it solves without
    stops; gpt-4 must keep at least 80% of it. The old simulator gave gpt-3.5-turbo 0 of 20."""
    template = "# Python 3{definition}"
    problems = ALL[::2]
    for model, kept_at_least, band in (("gpt-3.5-turbo", 0.0, (0.06, 0.44)), ("gpt-4", 0.8, (0.44, 1.0))):
        with_stops = _greedy_success(client, model, template, STOPS, problems)
        without = _greedy_success(client, model, template, None, problems)
        assert band[0] <= with_stops <= band[1], (model, with_stops)
        assert with_stops >= kept_at_least * without, (model, with_stops, without)
        if model == "gpt-3.5-turbo":
            assert with_stops <= 0.6 * without


def test_the_prompt_shifts_the_style_mix(client):
    """Asking for code only makes prose answers rarer; a code-file prompt ("# Python 3") makes gpt-4
    carry on with a bare body far more often than a later model (estimates in docs/sim.md)."""
    problems = ALL[:60]

    def answers(model, template):
        out = []
        for p in problems:
            messages = [{"role": "user", "content": template.format(definition=p.prompt)}]
            r = client.chat.completions.create(model=model, messages=messages, temperature=0, max_tokens=600)
            out.append(r.choices[0].message.content or "")
        return out

    def prose(texts):
        return statistics.fmean(not t.startswith(("```", "def ", "from ", "import ", " ")) for t in texts)

    bare = answers("gpt-4o", "{definition}")
    code_only = answers("gpt-4o", "Reply with only the code, no explanation.\n{definition}")
    assert prose(bare) >= prose(code_only) + 0.25
    body_gpt4 = statistics.fmean(t.startswith("    ") for t in answers("gpt-4", "# Python 3{definition}"))
    body_gpt4o = statistics.fmean(t.startswith("    ") for t in answers("gpt-4o", "# Python 3{definition}"))
    assert body_gpt4 >= body_gpt4o + 0.4


# -- generated assertions ------------------------------------------------------------------------
def test_generated_assertions_are_mostly_right_and_reject_most_wrong_answers(client):
    """gpt-3.5-turbo (the model FLAML's generate_assertions used) at its default temperature, on 82
    problems: the canonical solution must pass its assertions on at least 80% (the model: ~88%;
    binomial sd on 82 problems 0.036, so 80% is more than 2 sd below), and the assertions must
    reject between 70% and 97% of the shipped wrong answers (measured 88%: the docstring examples
    are weak tests, and the simulated wrong answers are biased towards ones that pass them)."""
    problems = ALL[::2]
    right, rejected, total = [], 0, 0
    for p in problems:
        prompt = GENERATE_ASSERTIONS_PROMPT.format(definition=p.prompt)
        r = client.chat.completions.create(
            model="gpt-3.5-turbo", messages=[{"role": "user", "content": prompt}], stop="\n\n"
        )
        assertions = r.choices[0].message.content or ""
        right.append(
            eval_function_completions([p.canonical_solution], p.prompt, assertions=assertions)["succeed_assertions"]
        )
        for body in he.shipped_mutants()[p.task_id][:4]:
            rejected += not eval_function_completions([body], p.prompt, assertions=assertions)["succeed_assertions"]
            total += 1
    assert statistics.fmean(right) >= 0.8
    assert 0.7 <= rejected / total <= 0.97


@pytest.mark.slow
def test_selection_by_generated_assertions_matches_flaml_notebook(client):
    """FLAML's notebook, tuned config on the 144 held-out problems (text-davinci-003, "# Python
    3{definition}", stops, max_tokens 148, n 27, top_p 0.755; assertions by gpt-3.5-turbo with
    FLAML's settings): index_selected 5.21, succeed_assertions 0.840, success 0.778. All 144 are
    needed: the problems differ (a half of them gives a mean success 0.15 apart from the other
    half), so a subset would not estimate the published mean. Tolerance: the published mean and ours
    each carry sampling error; three standard errors of the difference of two means over 144
    problems: succeed sd sqrt(2*.84*.16/144) = 0.043 -> 0.13, success 0.049 -> 0.15, index_selected
    (per-problem sd about 9) 1.06 -> 3.2. The old simulator gave 12.8 / 0.54 (issue 16)."""
    run = next(r for r in FLAML_RUNS if r.split == "test")
    config = {k: v for k, v in run.config().items() if k != "prompt"}
    rows = []
    for problem in split("test"):
        prompt = run.config()["prompt"].format(definition=problem.prompt)
        responses = [c.text for c in client.completions.create(prompt=prompt, **config).choices]
        asked = GENERATE_ASSERTIONS_PROMPT.format(definition=problem.prompt)
        r = client.chat.completions.create(
            model="gpt-3.5-turbo", messages=[{"role": "user", "content": asked}], max_tokens=256, stop="\n\n"
        )
        assertions = r.choices[0].message.content or ""
        rows.append(eval_function_completions(responses, problem.prompt, problem.test, problem.entry_point, assertions))
    assert statistics.fmean(r["index_selected"] for r in rows) == pytest.approx(5.21, abs=3.2)
    assert statistics.fmean(r["succeed_assertions"] for r in rows) == pytest.approx(0.840, abs=0.13)
    assert statistics.fmean(r["success"] for r in rows) == pytest.approx(0.778, abs=0.15)


# -- lengths ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "data", "sampling", "n", "max_tokens", "published", "tolerance"),
    [
        ("text-davinci-003", "test", {"top_p": 0.7555}, 27, 148, 69.4, 0.15),
        ("code-cushman-001", "tune", {"top_p": 0.6909}, 48, 333, 80.5, 0.15),
        ("text-ada-001", "tune", {"top_p": 0.7555}, 27, 148, 15.6, 0.5),
        ("text-babbage-001", "tune", {"top_p": 0.7555}, 27, 148, 69.0, 0.5),
    ],
)
def test_completion_lengths_match_flaml_logs(client, model, data, sampling, n, max_tokens, published, tolerance):
    """Completion tokens per sample with the seed's stops and "# Python 3{definition}" (ada, babbage,
    davinci-003: FLAML autogen notebook; cushman: its February codex run, "{definition}"), recovered
    from the logged inference_cost at the prices of the time. Over thousands of samples the sampling
    error is under 2%; the 15% allowed is model error (the issue's shortfall was 20-25%, and the
    tokenizer fallback for p50k counts code about 6% shorter). The tiny models' outputs are junk of
    widely varying length (published 6-38 and 32-184 tokens across their runs): +-50%."""
    prompt = "{definition}" if model.startswith("code-") else "# Python 3{definition}"
    problems = split(data)
    tokens = 0
    for p in problems:
        r = client.completions.create(
            model=model, prompt=prompt.format(definition=p.prompt), n=n, max_tokens=max_tokens, stop=STOPS, **sampling
        )
        tokens += r.usage.completion_tokens
    assert tokens / (n * len(problems)) == pytest.approx(published, rel=tolerance)
