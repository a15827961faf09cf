"""The one place that imports :mod:`flaml.tune` (its package ``__init__`` warns when AutoML is absent).

When Ray Tune can be imported, ``flaml.tune``'s domain functions (``tune.randint``, ``tune.choice``, ...)
and BlendSearch use Ray's domain classes, otherwise FLAML's own copies of them. A user's space may hold
either family (``flaml.tune.randint`` gives Ray's, ``flaml.tune.sample.randint`` FLAML's), so
:data:`Domain` and :data:`Categorical` are the classes of both families, for ``isinstance`` checks, and
:func:`searched_family` turns a space into the family BlendSearch works with.
"""

from __future__ import annotations

import warnings
from typing import Any

with warnings.catch_warnings():
    # flaml/__init__.py warns that the optional AutoML extra is missing; ecoptigen only uses flaml.tune.
    warnings.filterwarnings("ignore", message="flaml.automl is not available", category=UserWarning)
    from flaml import BlendSearch, tune
    from flaml.tune import sample as _flaml_sample
    from flaml.tune.utils import sample as _searched_sample  # the family tune.choice and BlendSearch use

Domain: tuple[type[Any], ...] = tuple(dict.fromkeys((_flaml_sample.Domain, _searched_sample.Domain)))
Categorical: tuple[type[Any], ...] = tuple(dict.fromkeys((_flaml_sample.Categorical, _searched_sample.Categorical)))
Integer: tuple[type[Any], ...] = tuple(dict.fromkeys((_flaml_sample.Integer, _searched_sample.Integer)))
_FAMILIES = {_flaml_sample.__name__, _searched_sample.__name__}

__all__ = ["BlendSearch", "Categorical", "Domain", "Integer", "searched_family", "tune"]


def searched_family(value: Any) -> Any:
    """``value`` with every domain (and its sampler) of the other family rebuilt as BlendSearch's.

    BlendSearch does arithmetic on its own family's domains only; the two families are copies of one
    another, so a domain is rebuilt as the class of the same qualified name with the same attributes.

    Example:
        >>> from flaml.tune import sample
        >>> searched = searched_family({"n": sample.randint(1, 5)})["n"]
        >>> isinstance(searched, _searched_sample.Domain), searched.lower, searched.upper
        (True, 1, 5)
    """
    if isinstance(value, dict):
        rebuilt_items = {key: searched_family(item) for key, item in value.items()}
        # Containers without a foreign domain are returned as they are (a config_list stays the same object).
        return value if all(rebuilt_items[k] is v for k, v in value.items()) else rebuilt_items
    if isinstance(value, list):
        rebuilt_list = [searched_family(item) for item in value]
        return value if all(a is b for a, b in zip(rebuilt_list, value, strict=True)) else rebuilt_list
    module = type(value).__module__
    if module not in _FAMILIES or module == _searched_sample.__name__:
        return value
    target: Any = _searched_sample
    for name in type(value).__qualname__.split("."):
        target = getattr(target, name)
    rebuilt = target.__new__(target)
    rebuilt.__dict__.update({key: searched_family(item) for key, item in vars(value).items()})
    return rebuilt
