"""The one place that imports :mod:`flaml.tune` (its package ``__init__`` warns when AutoML is absent)."""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    # flaml/__init__.py warns that the optional AutoML extra is missing; ecoptigen only uses flaml.tune.
    warnings.filterwarnings("ignore", message="flaml.automl is not available", category=UserWarning)
    from flaml import BlendSearch, tune
    from flaml.tune.sample import Categorical, Domain, Integer

__all__ = ["BlendSearch", "Categorical", "Domain", "Integer", "tune"]
