"""ecoptigen: get the most out of large language models per dollar.

A drop-in successor of FLAML's ``flaml.autogen.oai`` on the current ``openai`` SDK::

    from ecoptigen import oai
    config, analysis = oai.Completion.tune(data=..., metric="success", mode="max", eval_func=...)

Packages: :mod:`ecoptigen.oai` (FLAML's API), :mod:`ecoptigen.tuning` (EcoOptiGen),
:mod:`ecoptigen.client` (the request engine), :mod:`ecoptigen.money` (catalog, prices, tokens, budgets),
:mod:`ecoptigen.run_context` (what belongs to one run), :mod:`ecoptigen.code_utils` and
:mod:`ecoptigen.sandbox` (running generated code), :mod:`ecoptigen.distributed` (eval_func on Ray),
:mod:`ecoptigen.sim` (the simulated endpoint), :mod:`ecoptigen.datasets` (HumanEval, offline).
docs/architecture.md draws the layers.
"""

import warnings

from ecoptigen import errors, oai

# FLAML users build search spaces with `from flaml import tune`; flaml's package __init__ then warns that
# its optional AutoML extra is missing, which nothing here needs. Only that message, only from flaml.
warnings.filterwarnings("ignore", message="flaml.automl is not available", category=UserWarning, module="flaml")

__version__ = "0.1.0"

__all__ = ["__version__", "errors", "oai"]
