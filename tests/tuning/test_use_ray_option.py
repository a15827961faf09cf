"""The use_ray option is checked before anything is spent; without Ray, the error names the extra to install."""

from __future__ import annotations

import re
import sys

import pytest

from ecoptigen import oai
from ecoptigen.errors import ConfigurationError


def _ev(responses, **instance):
    return {"success": 1.0}


DATA = [{"q": "1+1"}, {"q": "2+2"}]


def _tune(completion, **options):
    return completion.tune(
        data=DATA, metric="success", mode="max", eval_func=_ev, optimization_budget=0.01, num_samples=1,
        model="gpt-4o-mini", prompt="{q}", max_tokens=5, n=1, show_progress=False, **options,
    )  # fmt: skip


@pytest.mark.parametrize("completion", [oai.Completion, oai.ChatCompletion])
def test_without_ray_tune_and_test_name_the_extra_before_sending_anything(endpoint, monkeypatch, completion):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` does when Ray is not installed
    with pytest.raises(ConfigurationError, match=re.escape('pip install -e ".[ray]" in your ecoptigen clone')):
        _tune(completion, use_ray=True)
    with pytest.raises(ConfigurationError, match=re.escape('pip install -e ".[ray]" in your ecoptigen clone')):
        completion.test(DATA, {"model": "gpt-4o-mini", "prompt": "{q}"}, eval_func=_ev, use_ray=True)
    assert endpoint.stats()["requests"] == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"use_ray": "yes"}, "use_ray must be True or False"),
        ({"ray_options": {"num_cpus": 1}}, "given with use_ray=True"),
    ],
)
def test_bad_ray_options_are_refused_before_sending_anything(endpoint, options, message):
    with pytest.raises(ConfigurationError, match=message):
        _tune(oai.ChatCompletion, **options)
    assert endpoint.stats()["requests"] == 0
