"""ecoptigen: get the most out of large language models per dollar.

A drop-in successor of FLAML's ``flaml.autogen.oai`` on the current ``openai`` SDK::

    from ecoptigen import oai
    config, analysis = oai.Completion.tune(data=..., metric="success", mode="max", eval_func=...)

Packages: :mod:`ecoptigen.oai` (requests), :mod:`ecoptigen.tuning` (EcoOptiGen),
:mod:`ecoptigen.code_utils` and :mod:`ecoptigen.sandbox` (running generated code),
:mod:`ecoptigen.sim` (the simulated endpoint), :mod:`ecoptigen.datasets` (HumanEval, offline).
"""

from ecoptigen import errors, oai

__version__ = "0.1.0"

__all__ = ["__version__", "errors", "oai"]
