"""The searcher as the tuning loop talks to it: asked and told by trial index."""

from __future__ import annotations

import itertools
import warnings
from typing import Any

__all__ = ["MAX_SUGGEST_FAILURES", "Suggestions", "is_at"]

# Suggestions in a row that the searcher may decline before the search ends (flaml.tune's max_failure).
MAX_SUGGEST_FAILURES = 100
# flaml's optuna wrapper warns when drawing a point of a hierarchical space takes over a second: advice
# to Ray Tune users about their own space function, given here for flaml's function on a busy machine
# (seen at load 18, where the test suite turns warnings into errors).
_SLOW_DRAW_WARNING = "Define-by-run function passed in the `space` argument took"


class Suggestions:
    """The searcher, asked and told by trial index.

    As in ``flaml.tune``, a searcher may return no configuration for a moment (one it proposed is still
    running, or it drew a point it has tried): each attempt uses a fresh searcher id, and the search ends
    only after :data:`MAX_SUGGEST_FAILURES` attempts in a row with no trial running.
    """

    def __init__(self, searcher: Any):
        self.searcher = searcher
        self._attempts = itertools.count()
        self._failures = 0
        self._asked: dict[int, tuple[str, dict]] = {}

    def suggest(self, index: int, others_running: bool) -> dict | None:
        """A configuration for trial ``index``, or ``None`` (wait for a running trial, or stop if none runs)."""
        while self._failures < MAX_SUGGEST_FAILURES:
            trial_id = f"t{index}.{next(self._attempts)}"
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=_SLOW_DRAW_WARNING)
                config = self.searcher.suggest(trial_id)
            if config is not None:
                self._failures = 0
                self._asked[index] = (trial_id, config)
                return config
            if others_running:
                return None
            self._failures += 1
        return None

    def config_of(self, index: int) -> dict:
        return self._asked[index][1]

    def replace(self, index: int, config: dict) -> None:
        """Evaluate ``config`` for trial ``index`` instead of the suggested one (a start point refitted to
        the budget left); BlendSearch searches on from the config it is told."""
        self._asked[index] = (self._asked[index][0], config)

    def tell(self, index: int, result: dict | None) -> None:
        """Report trial ``index``'s result; ``None``: it could not be run."""
        trial_id = self._asked.pop(index)[0]
        if result is None:
            self.searcher.on_trial_complete(trial_id, None, error=True)
        else:
            self.searcher.on_trial_complete(trial_id, result)


def is_at(point: dict, config: dict) -> bool:
    """Whether ``config`` is ``point`` as BlendSearch completed it (every setting ``point`` gives, the same)."""
    for key, value in point.items():
        if isinstance(value, dict) and key == "subspace":
            if not isinstance(config.get(key), dict) or not is_at(value, config[key]):
                return False
        elif config.get(key) != value:
            return False
    return True
