"""With Ray installed, ``flaml.tune`` builds Ray's domain classes; both families must work in a space."""

from __future__ import annotations

import pytest
from flaml.tune import sample as flaml_sample

from ecoptigen.tuning._flaml import tune
from ecoptigen.tuning._space import build_space, make_searcher


def _suggested(space_config: dict, count: int = 4) -> list[dict]:
    space = build_space({"model": "gpt-4o-mini", "prompt": "{q}", **space_config}, chat=True)
    searcher = make_searcher(space, "success", "max", 1.0)
    params = []
    for i in range(count):
        config = searcher.suggest(f"t{i}")
        searcher.on_trial_complete(f"t{i}", {"success": i % 2, "cost": 0.01, "config": config})
        params.append(space.params(config))
    return params


def test_flaml_tune_gives_rays_domains_when_ray_is_installed():
    assert type(tune.randint(1, 5)).__module__ == "ray.tune.search.sample"


@pytest.mark.parametrize("family", ["ray", "flaml"])
def test_a_domain_of_either_family_is_searched(family):
    module = tune if family == "ray" else flaml_sample
    params = _suggested({"n": module.randint(1, 50), "temperature": module.uniform(0, 1), "max_tokens": 20})
    assert all(isinstance(p["n"], int) and 1 <= p["n"] < 50 for p in params)
    assert len({p["n"] for p in params}) > 1
    assert all(0 <= p["temperature"] <= 1 for p in params)


def test_both_families_give_the_same_search():
    ray_family = _suggested({"n": tune.qrandint(2, 50, 2), "max_tokens": tune.lograndint(50, 1000)})
    flaml_family = _suggested({"n": flaml_sample.qrandint(2, 50, 2), "max_tokens": flaml_sample.lograndint(50, 1000)})
    assert ray_family == flaml_family


def test_installing_ray_does_not_change_a_tunings_fingerprint():
    from ecoptigen.tuning._journal import fingerprint

    def space(module):
        built = build_space(
            {
                "model": "gpt-4o-mini",
                "prompt": "{q}",
                "n": module.randint(1, 50),
                "max_tokens": module.lograndint(50, 1000),
            },
            chat=True,
        )
        return fingerprint(searched=built.searched)

    assert space(tune) == space(flaml_sample)  # a journal written before Ray was installed still resumes
