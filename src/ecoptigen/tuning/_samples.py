"""The completions a trial gathers for each data instance, and when fewer than ``n`` of them decide
eval_func's result.

Growing ``n`` asks only for the completions an instance does not have yet; those extra requests carry
a ``cache_salt`` naming how many completions came before (:func:`salt_after`), so the cache never hands
the earlier samples back as "new" ones.

Some eval_funcs settle their result before seeing every completion. Selection by assertions
(:func:`ecoptigen.code_utils.eval_function_completions` with ``assertions``, FLAML's workflow) keeps the
first response that passes them, so once one of the first k responses passes, the other n - k change
nothing. An eval_func says so with an attribute ``prefix_rule_for(keywords)``, called with the keywords
``functools.partial`` binds to it, which returns ``None`` (its results need every response) or a rule
``rule(result, have, n) -> bool``: given its result on the first ``have`` of ``n`` responses, whether
that is its result on all n. For such an eval_func a trial asks for an instance's completions at the
configuration's own ``n`` in two rounds (:func:`next_round`), evaluates the first round's prefix, and
buys the rest only for the instances it leaves undecided: the trial's metrics are exactly those of
n completions, and the completions that could not change them are not bought.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PrefixRule", "Samples", "next_round", "prefix_rule", "salt_after"]

# The cache salt of a trial's requests that must draw fresh completions (see _recheck).
FRESH_DRAW = "ecoptigen.tuning:recheck"

PrefixRule = Callable[[dict, int, int], bool]


@dataclass
class Samples:
    """The completions gathered so far for one data instance.

    Attributes:
        decided: eval_func's ``result`` on the completions gathered is its result on any number of
            completions that starts with them (see the module docstring).
        draw: mixed into the cache salt of every request: a draw other than ``None`` gets completions
            of its own, not those an earlier evaluation of the same configuration cached.
    """

    responses: list[Any] = field(default_factory=list)
    have: int = 0
    output_tokens: int = 0
    prompt_tokens: int | None = None
    cost: float = 0.0
    result: dict[str, Any] | None = None  # eval_func's, once the instance has all the completions it needs
    decided: bool = False
    draw: str | None = None

    def salt(self) -> str | None:
        """The cache salt of this instance's next request (see :func:`salt_after`).

        Example:
            >>> Samples().salt(), Samples(have=4, draw="d").salt()
            (None, 'd|ecoptigen.tuning:after=4')
        """
        after = salt_after(self.have)
        if self.draw is None:
            return after
        return self.draw if after is None else f"{self.draw}|{after}"

    def missing(self, n: int) -> int:
        """How many more completions evaluating this instance at ``n`` may need."""
        return 0 if self.decided else max(n - self.have, 0)

    def output_tokens_at(self, n: int) -> float:
        """The output tokens of ``n`` completions: as counted, or, for an instance decided with fewer,
        the average of those it has times ``n`` (what a deployment asking for ``n`` pays for)."""
        if self.decided and 0 < self.have < n:
            return self.output_tokens * n / self.have
        return float(self.output_tokens)


def salt_after(have: int) -> str | None:
    """The cache salt of a request for more completions after ``have`` earlier ones (``None`` for the first).

    Example:
        >>> salt_after(0), salt_after(4)
        (None, 'ecoptigen.tuning:after=4')
    """
    return None if have == 0 else f"ecoptigen.tuning:after={have}"


def prefix_rule(eval_func: Callable[..., Any]) -> PrefixRule | None:
    """The rule by which a prefix of the responses decides eval_func's result, or ``None`` (see the
    module docstring); keywords bound by ``functools.partial`` are passed to its ``prefix_rule_for``.

    Example:
        >>> from functools import partial
        >>> from ecoptigen.code_utils import eval_function_completions, generate_assertions
        >>> prefix_rule(partial(eval_function_completions, assertions=generate_assertions)) is not None
        True
        >>> prefix_rule(partial(eval_function_completions, assertions=None)) is None
        True
    """
    func: Any = eval_func
    keywords: dict[str, Any] = {}
    while isinstance(func, functools.partial):
        keywords = {**func.keywords, **keywords}  # an outer partial's keywords win
        func = func.func
    rule_for = getattr(func, "prefix_rule_for", None)
    rule = rule_for(keywords) if callable(rule_for) else None
    return rule if callable(rule) else None


def next_round(have: int, n: int) -> int:
    """How many completions an instance being decided should have after its next round: a quarter of ``n``
    (at least 2) first, then all ``n``. Two rounds keep most of what stopping early saves (most decided
    instances are decided by their first few responses) for one extra round trip per trial.

    Example:
        >>> [next_round(have, 27) for have in (0, 7)], next_round(0, 4)
        ([7, 27], 2)
    """
    return min(n, max(2, -(-n // 4))) if have == 0 else n
