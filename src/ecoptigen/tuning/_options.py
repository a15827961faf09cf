"""How a tuning runs, as opposed to what it searches: the options ``tune`` takes besides the space."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ecoptigen.client import RUN_OPTIONS
from ecoptigen.errors import ConfigurationError
from ecoptigen.tuning._executors import check_use_ray

__all__ = ["DEFAULT_CONCURRENCY", "DEFAULT_SEARCH_SEED", "SEARCH_ORDERS", "TunerOptions"]

DEFAULT_CONCURRENCY = 16
# BlendSearch's own default seed, the one FLAML's tune always uses.
DEFAULT_SEARCH_SEED = 20
# "budgeted": ecoptigen's start points and model race (docs/tuning.md, "How the search spends the
# budget"); "flaml": FLAML's shared start point, every model to the end.
SEARCH_ORDERS = ("budgeted", "flaml")


@dataclass
class TunerOptions:
    """How the tuning runs (not what it searches).

    Attributes:
        concurrency: requests (and eval_func calls) in flight at once.
        parallel_trials: configurations evaluated at the same time.
        serial_eval_func: call eval_func on one thread, one instance after another (for eval_funcs
            that are not thread-safe).
        show_progress: show a progress bar.
        use_ray: call eval_func as Ray tasks on a cluster (see :mod:`ecoptigen.distributed`).
        ray_options: options of those tasks (``num_cpus``, ...), as Ray's ``.options()`` takes them.
        search_seed: the searcher's random seed (FLAML's is always 20): the same seed, data and
            endpoint give the same trials.
        search_order: ``"budgeted"`` (default): one start point per model, cheapest first, ``n``
            scaled to the budgets, and models dropped once they cannot beat the best so far;
            ``"flaml"``: FLAML's order (every model from the seed's shared first point, to the end).
            With an optimization budget, ``"budgeted"`` also re-checks the best configuration on fresh
            completions before returning it (:mod:`~ecoptigen.tuning._recheck`).
    """

    concurrency: int = DEFAULT_CONCURRENCY
    parallel_trials: int = 1
    serial_eval_func: bool = False
    show_progress: bool = True
    use_ray: bool = False
    ray_options: dict[str, Any] | None = None
    search_seed: int = DEFAULT_SEARCH_SEED
    search_order: str = "budgeted"

    @classmethod
    def pop_from(cls, config: dict[str, Any]) -> TunerOptions:
        """Take the options out of ``tune``'s keyword arguments (the rest is the search space)."""
        names = sorted(RUN_OPTIONS)
        options = cls(**{name: config.pop(name) for name in names if name in config})
        check_use_ray(options.use_ray, options.ray_options)
        for name in ("concurrency", "parallel_trials"):
            value = getattr(options, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"{name} must be a positive integer; got {value!r}.")
        seed = options.search_seed
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
            raise ConfigurationError(f"search_seed must be an integer from 0 to 2**32 - 1; got {seed!r}.")
        if options.search_order not in SEARCH_ORDERS:
            raise ConfigurationError(
                f"search_order must be one of {list(SEARCH_ORDERS)}; got {options.search_order!r}."
            )
        return options
