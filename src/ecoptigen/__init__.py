"""ecoptigen: get the most out of large language models per dollar.

A drop-in successor of FLAML's ``flaml.autogen.oai`` on the current ``openai`` SDK::

    from ecoptigen import oai
    config, analysis = oai.Completion.tune(data=..., metric="success", mode="max", eval_func=...)
"""

from ecoptigen import errors

__version__ = "0.1.0"

__all__ = ["__version__", "errors"]
