"""The form of a chat model's answer to a HumanEval prompt, and how it depends on the prompt.

A chat model answers a function definition in one of four forms:

* ``body``: it carries on where the prompt stops, writing the function's indented body;
* ``def``: the whole function, unfenced, from its ``def`` line (often after the prompt's imports,
  often without repeating the docstring), sometimes followed by an example call;
* ``fenced``: the whole function in a Markdown code block;
* ``prose``: a sentence or two, the code block, and an explanation.

Stop sequences act on these as on a real endpoint: ``["\\nclass", "\\ndef", "\\nif", "\\nprint"]``
leave a body whole, leave a ``def`` answer whole when it starts at ``def`` (the stop needs a newline
before it) and cut it to its imports otherwise, and cut a fenced or prose answer at the first
``\\ndef`` after the fence -- an unclosed fence, which fails.

The mix depends on the model's generation and on the prompt (``STYLE_MIX``). The gpt-3.5-turbo and
gpt-4 rows are set so that the published FLAML runs of March-April 2023 come out as measured (20
tuning problems, stops on, answers run as ``prompt + answer``): gpt-3.5-turbo solved 0.20 of them at
n=1 and 0.35-0.50 at n=23-42 (about a third of its answers survive the stops), gpt-4 0.80 at n=1
and 0.90 at n=13 (nearly all do). The split among the four forms, the later models' row (Markdown
code blocks nearly always) and the prompt effects are estimates. A model keeps the form its greedy
answer has for a given problem and prompt, and departs from it with probability ``switch(tau)``:
with n=42 samples gpt-3.5-turbo still had no surviving answer on most problems.
"""

from __future__ import annotations

import random
import re

from ecoptigen.sim import _difficulty as dif
from ecoptigen.sim import _humaneval as he

__all__ = ["STYLES", "STYLE_MIX", "chat_answer", "choose_style", "prompt_kind"]

STYLES = ("body", "def", "fenced", "prose")
# generation -> prompt kind -> shares of (body, def, fenced, prose)
STYLE_MIX: dict[str, dict[str, tuple[float, float, float, float]]] = {
    "gpt-3.5": {
        "bare": (0.05, 0.20, 0.30, 0.45),
        "code": (0.15, 0.30, 0.25, 0.30),
        "instruction": (0.05, 0.25, 0.40, 0.30),
        "imports_inside": (0.05, 0.40, 0.30, 0.25),
        "code_only": (0.15, 0.45, 0.35, 0.05),
    },
    "gpt-4": {
        "bare": (0.50, 0.25, 0.15, 0.10),
        "code": (0.75, 0.20, 0.03, 0.02),
        "instruction": (0.20, 0.35, 0.30, 0.15),
        "imports_inside": (0.10, 0.60, 0.20, 0.10),
        "code_only": (0.35, 0.50, 0.15, 0.00),
    },
    "modern": {
        "bare": (0.02, 0.03, 0.45, 0.50),
        "code": (0.05, 0.10, 0.55, 0.30),
        "instruction": (0.02, 0.03, 0.55, 0.40),
        "imports_inside": (0.02, 0.08, 0.50, 0.40),
        "code_only": (0.05, 0.15, 0.75, 0.05),
    },
}
_CODE_ONLY = re.compile(
    r"only (the )?(python )?code|no explanation|without (any )?(explanation|markdown|prose)|no markdown|just the code",
    re.IGNORECASE,
)
_IMPORTS_INSIDE = re.compile(r"import statements inside the function", re.IGNORECASE)
# Without a stop, a def answer sometimes shows the function at work; "\nprint" cuts that off.
_EXAMPLE_SHARE = 0.3
# A def or fenced answer repeats the docstring this often (estimates; gpt-4's logged answers are short).
_KEEP_DOCSTRING = {"gpt-3.5": 0.5, "gpt-4": 0.1, "modern": 0.5}
_KEEP_IMPORTS = 0.7  # and an unfenced one starts with the prompt's imports, when there are any (estimate)


def generation(model: str) -> str:
    """Which row of ``STYLE_MIX`` a chat model follows."""
    if model.startswith("gpt-3.5"):
        return "gpt-3.5"
    if model in ("gpt-4", "gpt-4-32k") or model.startswith(("gpt-4-0", "gpt-4-32k-")):
        return "gpt-4"
    return "modern"


def prompt_kind(template: str) -> str:
    """What the text around the problem asks for: nothing (``bare``), a code file (``code``: a
    comment such as ``# Python 3``), code only, imports inside the function, or in words."""
    if _IMPORTS_INSIDE.search(template):
        return "imports_inside"
    if _CODE_ONLY.search(template):
        return "code_only"
    text = template.strip()
    if not text:
        return "bare"
    if all(line.strip().startswith("#") for line in text.splitlines() if line.strip()):
        return "code"
    return "instruction"


def switch(tau: float) -> float:
    """Probability that a sample departs from the form of the greedy answer."""
    return min(0.4, 0.2 * tau)


def _draw(shares: tuple[float, ...], roll: float) -> str:
    for style, share in zip(STYLES, shares, strict=True):
        if roll < share:
            return style
        roll -= share
    return STYLES[-1]


def choose_style(model: str, task_id: str, template: str, tau: float, rng: random.Random) -> str:
    """The form of one answer: the greedy answer's, or (``switch(tau)`` of the time) a fresh draw."""
    shares = STYLE_MIX[generation(model)][prompt_kind(template)]
    if tau > 1e-6 and rng.random() < switch(tau):
        return _draw(shares, rng.random())
    return _draw(shares, dif._unit("style", model, task_id, template))


def chat_answer(model: str, problem: he.Problem, body: str, style: str, template: str, rng: random.Random) -> str:
    """A chat answer of ``model`` in the given ``style`` around ``body``."""
    if style == "body":
        return body.rstrip("\n")
    # A code block is complete, imports and all; an unfenced def often starts at its imports too.
    imports_inside = prompt_kind(template) == "imports_inside"
    keep_imports = not imports_inside and (style != "def" or rng.random() < _KEEP_IMPORTS)
    keep_docstring = rng.random() < _KEEP_DOCSTRING[generation(model)]
    code = _whole_function(problem, body, keep_docstring, keep_imports)
    if style == "def":
        return code + (_example_call(problem) if rng.random() < _EXAMPLE_SHARE else "")
    if style == "fenced":
        return f"```python\n{code}\n```"
    return f"{_intro(problem, rng)}\n\n```python\n{code}\n```\n\n{_explanation(problem, rng)}"


def _whole_function(problem: he.Problem, body: str, keep_docstring: bool, keep_imports: bool) -> str:
    prompt = problem.prompt if keep_docstring else he.without_docstring(problem)
    lines = prompt.strip("\n").splitlines()
    imports = [line for line in lines if line.startswith(("import ", "from "))]
    rest = [line for line in lines if line not in imports]
    if imports and keep_imports:
        head = "\n".join(imports) + "\n\n\n" + "\n".join(rest).strip("\n")
    else:
        head = "\n".join(rest).strip("\n")
    return head + "\n" + body.rstrip("\n")


def _example_call(problem: he.Problem) -> str:
    pairs = he.example_pairs(problem)
    return f"\n\n\n# Example usage:\nprint({pairs[0][0]})" if pairs else ""


_INTROS = [
    "Here's an implementation of the `{name}` function:",
    "Sure! Here is one way to write `{name}` in Python:",
    "Here is a possible implementation of `{name}`. It uses only the standard library and follows the "
    "examples given in the docstring:",
    "The function `{name}` should do the following: {summary} We can implement it by working through the "
    "input step by step and building the result as we go. Here is the code:",
    "To solve this problem, we need to follow the description in the docstring: {summary} A straightforward "
    "approach is to handle the edge cases first and then process the input directly, keeping track of "
    "what we need along the way. Here's the implementation in Python:",
]
_EXPLANATIONS = [
    "This implementation follows the docstring and returns the expected results for the examples given.",
    "The function works through the input step by step and builds the result as described. "
    "It handles the edge cases mentioned in the docstring as well.",
    "Explanation:\n\n1. {summary}\n2. We compute the answer directly from the input.\n"
    "3. Finally, we return the result.\n\nYou can test the function with the examples from the docstring.",
    "I hope this helps! Let me know if you have any questions.",
]


def _intro(problem: he.Problem, rng: random.Random) -> str:
    return rng.choice(_INTROS).format(name=problem.entry_point, summary=he.summary(problem))


def _explanation(problem: he.Problem, rng: random.Random) -> str:
    return rng.choice(_EXPLANATIONS).format(name=problem.entry_point, summary=he.summary(problem))
