"""A tuning's console output: one line per event that matters, never glued to the progress bar, no
third-party advice, and setup mistakes as short errors."""

import logging
import os
import subprocess
import sys
import textwrap
import traceback

import pytest
from test_tuner import run
from tuning_fakes import FakeEngine

from ecoptigen.errors import ConfigurationError, EvalFuncError

# A tuning on the simulated endpoint whose eval_func logs a warning at every row, with a progress bar.
WARNING_IN_EVAL_FUNC = textwrap.dedent(
    """
    import logging, sys, tempfile
    from ecoptigen import oai, sim
    if sys.argv[1] == "configured":
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    def eval_func(responses, q):
        logging.getLogger("user.eval").warning("look at row %s", q)
        return {"ok": float(bool(responses[0]))}
    with sim.serve(seed=1) as server:
        oai.ChatCompletion.set_cache(0, tempfile.mkdtemp())
        oai.ChatCompletion.tune(
            data=[{"q": "1+1"}, {"q": "2+2"}], metric="ok", mode="max", optimization_budget=0.01,
            eval_func=eval_func, num_samples=3, model=["gpt-4o-mini", "gpt-4.1-nano"], prompt="{q}",
            max_tokens=8, show_progress=True, base_url=server.base_url, api_key="sk-sim")
    logging.getLogger("user.after").warning("after the run")
    """
)


@pytest.mark.parametrize("logging_setup", ["configured", "unconfigured"])
def test_warnings_during_a_tuning_get_lines_of_their_own_above_the_bar(logging_setup):
    command = [sys.executable, "-W", "error", "-c", WARNING_IN_EVAL_FUNC, logging_setup]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stderr.split("\n") if "look at row" in line]
    assert len(lines) >= 6 and "tuning:" in done.stderr  # a bar was shown, and every row warned
    for line in lines:
        shown = line.split("\r")[-1]  # what stays on the terminal's line once the carriage returns are done
        assert shown.endswith(("look at row 1+1", "look at row 2+2")) and "trial" not in shown, repr(line)
        assert shown.startswith(("look", "WARNING look")), repr(line)
    # After the run, logging writes straight to the console again.
    assert done.stderr.rstrip().split("\n")[-1].split("\r")[-1].endswith("after the run")


def test_no_third_party_advice_at_info_and_trial_lines_show_their_configuration(caplog):
    with caplog.at_level(logging.INFO):
        run(FakeEngine(), num_samples=2, optimization_budget=None, logging_level=logging.INFO)
    third_party = [r for r in caplog.records if r.name.split(".")[0] in ("flaml", "optuna")]
    assert third_party == [], [r.getMessage() for r in third_party]
    trial_lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("trial t")]
    assert len(trial_lines) == 2
    assert all("| model=gpt-" in line and " max_tokens=" in line and "prompt=#" in line for line in trial_lines)


def frames_of(error):
    return "".join(traceback.format_exception(error))


def test_an_eval_func_that_cannot_take_the_data_is_refused_before_any_request_or_thread():
    engine = FakeEngine()
    with pytest.raises(
        ConfigurationError, match=r"eval_func cannot be called as eval_func\(responses, \*\*data\[0\]\)"
    ):
        run(engine, eval_func=lambda responses: {"success": 1.0}, num_samples=1)
    assert engine.requests == []


def test_a_mistake_found_by_the_first_trial_has_a_short_traceback_without_the_thread_pool():
    def typo(responses, **instance):
        return {"sucess": 1.0}

    with pytest.raises(EvalFuncError, match="it has no 'success'") as caught:
        run(FakeEngine(), eval_func=typo, num_samples=1)
    frames = frames_of(caught.value)
    assert "concurrent/futures" not in frames and "threading.py" not in frames
    assert frames.count('File "') <= 8, frames


def test_an_error_raised_by_eval_func_keeps_the_users_frames_and_drops_the_machinerys():
    def broken(responses, **instance):
        return {"success": 1 / 0}

    with pytest.raises(EvalFuncError, match="ZeroDivisionError") as caught:
        run(FakeEngine(), eval_func=broken, num_samples=1)
    frames = frames_of(caught.value)
    assert "in broken" in frames and "1 / 0" in frames
    assert "concurrent/futures" not in frames and "evaluate.py" not in frames
