"""Algebra problems in the form of the MATH benchmark, generated deterministically, with their answers.

No package on the registries ships MATH (``competition_math``) itself, so the simulated models answer
problems made here: algebra at five difficulty levels, written as MATH writes them (LaTeX between
dollars), each with a worked solution ending in ``\\boxed{answer}``, the forms a right answer may take
(``\\frac{3}{4}``, ``\\dfrac{3}{4}``, ``3/4``), and the wrong answers a model is likely to give: *slips*
(an arithmetic step gone wrong: near misses, many of them) and *misconceptions* (the problem read or
set up wrongly: a few, the same for every sample that makes them). The levels follow MATH's: level 1
takes one or two steps, level 5 a chain of them with fractions, radicals or intervals in the answer.
The problems are easy to check and are not MATH's; how often a simulated model solves them is set
per level to published MATH figures (``docs/sim.md``), not by their content.

Example:
    >>> problems = load_problems()
    >>> len(problems["test"]), problems["test"][0]["level"], problems["test"][0]["type"]
    (1000, 'Level 1', 'Algebra')
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from math import isqrt

__all__ = ["LEVELS", "REFERENCE_PROMPT", "MathProblem", "find_problem", "load_problems", "problems"]

LEVELS = (1, 2, 3, 4, 5)
TRAIN_PER_LEVEL = 100
TEST_PER_LEVEL = 200
_SEED = "ecoptigen-math-v1"
# The prompt of FLAML's math notebook and case study; the simulated models' accuracy is set with it.
REFERENCE_PROMPT = (
    "{problem} Solve the problem carefully. Simplify your answer as much as possible. "
    "Put the final answer in \\boxed{{}}."
)


@dataclass(frozen=True)
class MathProblem:
    """One problem: its text, level, worked solution and the answers a model may give."""

    problem_id: str
    split: str
    level: int
    problem: str
    answer: str
    steps: tuple[str, ...]
    forms: tuple[str, ...]  # equivalent ways to write the right answer, the canonical one first
    slips: tuple[str, ...]  # near misses: one arithmetic step gone wrong
    misconceptions: tuple[str, ...]  # answers to a misread problem

    @property
    def solution(self) -> str:
        """A worked solution, as MATH's ``solution`` column: the steps, then the boxed answer."""
        return " ".join(self.steps) + f" The answer is $\\boxed{{{self.answer}}}$."

    def row(self) -> dict[str, str]:
        """The problem as a row of ``competition_math``: ``problem``, ``level``, ``type``, ``solution``."""
        return {"problem": self.problem, "level": f"Level {self.level}", "type": "Algebra", "solution": self.solution}


# -- writing answers ---------------------------------------------------------------------------
def _frac(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    sign = "-" if value < 0 else ""
    return f"{sign}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"


def _forms(value: Fraction) -> tuple[str, ...]:
    """Ways to write a number that the MATH grader's normalisation takes as equal."""
    canonical = _frac(value)
    if value.denominator == 1:
        return canonical, f"{value.numerator}.0", f"x = {value.numerator}"
    sign = "-" if value < 0 else ""
    forms = [canonical, canonical.replace("\\frac", "\\dfrac")]
    if value > 0:  # the grader turns "a/b" into \frac{a}{b}, and "-a/b" into \frac{-a}{b}, not -\frac{a}{b}
        forms.append(f"{value.numerator}/{value.denominator}")
    if value == Fraction(1, 2):
        forms.append("0.5")
    if abs(value.numerator) < 10 and value.denominator < 10:
        forms.append(f"{sign}\\frac{abs(value.numerator)}{value.denominator}")
    return tuple(forms)


def _near(value: Fraction, rng: random.Random, count: int = 8) -> list[str]:
    """Answers one slip away from ``value``: off by one or two, a sign, a factor, a part of a fraction."""
    n, d = value.numerator, value.denominator
    if d == 1:
        candidates = [str(n + k) for k in (1, -1, 2, -2, 10, -10, 3, -3)] + [str(-n), str(2 * n), str(3 * n)]
    else:
        shifted = [Fraction(n + k * d, d) for k in (1, -1, 2, -2)]
        candidates = [_frac(c) for c in shifted] + [_frac(Fraction(n + 1, d)), _frac(Fraction(n - 1, d))]
        candidates += [_frac(-value), _frac(Fraction(n, d + 1)), _frac(2 * value)]
        if n:
            candidates.append(_frac(Fraction(d, n)))
    rng.shuffle(candidates)
    right = _frac(value)
    return [c for c in dict.fromkeys(candidates) if c != right][:count]


_AS_FRACTION = " Express your answer as a common fraction if needed."


def _signed(coefficient: int) -> str:
    return f"+ {coefficient}" if coefficient >= 0 else f"- {-coefficient}"


def _radical(coefficient: int, radicand: int) -> str:
    if radicand == 1:
        return str(coefficient)
    return f"\\sqrt{{{radicand}}}" if coefficient == 1 else f"{coefficient}\\sqrt{{{radicand}}}"


def _simplify_root(square: int) -> tuple[int, int]:
    coefficient, radicand = 1, square
    for factor in range(isqrt(square), 1, -1):
        if square % (factor * factor) == 0:
            return factor, square // (factor * factor)
    return coefficient, radicand


# -- the problems, by level ---------------------------------------------------------------------
_Made = tuple[str, Fraction | str, list[str], list[str], list[str] | None]
# (text, answer, steps, misconceptions, slips or None for number answers)


def _l1_linear(rng: random.Random) -> _Made:
    a, x = rng.randint(2, 9), rng.randint(-12, 20)
    b = rng.randint(1, 30)
    c = a * x + b
    steps = [f"Subtracting ${b}$ from both sides gives ${a}x = {c - b}$.", f"Dividing by ${a}$, $x = {x}$."]
    return f"If ${a}x + {b} = {c}$, what is the value of $x$?", Fraction(x), steps, [_frac(Fraction(c + b, a))], None


def _l1_arithmetic(rng: random.Random) -> _Made:
    a, b, c = rng.randint(3, 15), rng.randint(3, 15), rng.randint(5, 60)
    value = a * b - c
    steps = [f"First, ${a} \\cdot {b} = {a * b}$.", f"Then ${a * b} - {c} = {value}$."]
    return f"What is the value of ${a} \\cdot {b} - {c}$?", Fraction(value), steps, [str(a * (b - c))], None


def _l2_system(rng: random.Random) -> _Made:
    x, y = rng.randint(-6, 9), rng.randint(-6, 9)
    p, r, t = rng.randint(1, 9), rng.randint(1, 9), rng.randint(2, 12)
    q, s = p + x + y, r + y - x
    text = f"If ${p}+a={q}-b$ and ${r}+b={s}+a$, what is ${t}-a$?"
    steps = [
        f"Adding the two equations gives ${p + r}+a+b={q + s}+a-b$, so $2b={q + s - p - r}$ and $b={y}$.",
        f"Then ${p}+a={q}-{y}$, so $a={x}$.",
        f"Hence ${t}-a={t}-({x})={t - x}$.",
    ]
    return text, Fraction(t - x), steps, [str(t + x), str(t - y)], None


def _l2_function(rng: random.Random) -> _Made:
    a, b, c, k = rng.randint(2, 6), rng.randint(-9, 9), rng.randint(-15, 15), rng.randint(-5, 6)
    value = a * k * k + b * k + c
    text = f"If $f(x) = {a}x^2 {'+' if b >= 0 else '-'} {abs(b)}x {'+' if c >= 0 else '-'} {abs(c)}$, what is $f({k})$?"
    steps = [
        f"We substitute $x = {k}$: $f({k}) = {a}({k})^2 + ({b})({k}) + ({c})$.",
        f"This is ${a * k * k} + ({b * k}) + ({c}) = {value}$.",
    ]
    return text, Fraction(value), steps, [str(a * k * k - b * k + c), str(a * 2 * k + b * k + c)], None


def _l2_percent(rng: random.Random) -> _Made:
    p, q = rng.choice([20, 25, 40, 50, 75, 120, 130, 150]), rng.choice([10, 20, 30, 60, 80, 110, 140])
    a, b = rng.choice([20, 30, 40, 60, 80, 90]), rng.choice([20, 30, 50, 70, 90])
    value = abs(Fraction(p * a, 100) - Fraction(q * b, 100))
    text = f"What is the positive difference between ${p}\\%$ of ${a}$ and ${q}\\%$ of ${b}$?"
    steps = [
        f"${p}\\%$ of ${a}$ is ${_frac(Fraction(p * a, 100))}$.",
        f"${q}\\%$ of ${b}$ is ${_frac(Fraction(q * b, 100))}$.",
    ]
    return text, value, steps, [_frac(Fraction(p * a + q * b, 100))], None


def _l3_fraction_equation(rng: random.Random) -> _Made:
    b, d = rng.sample(range(2, 10), 2)
    a, c = rng.randint(1, 12), rng.randint(1, 12)
    value = Fraction(b * c + a * d, b - d)
    text = f"Solve for $x$: $\\frac{{x + {a}}}{{{b}}} = \\frac{{x - {c}}}{{{d}}}$." + _AS_FRACTION
    steps = [
        f"Cross-multiplying gives ${d}(x + {a}) = {b}(x - {c})$, that is ${d}x + {a * d} = {b}x - {b * c}$.",
        f"Collecting terms, ${b - d}x = {b * c + a * d}$.",
        f"So $x = {_frac(value)}$.",
    ]
    return text, value, steps, [_frac(Fraction(b * c - a * d, b - d)), _frac(Fraction(b * c + a * d, d - b))], None


def _l3_roots(rng: random.Random) -> _Made:
    r1, r2 = rng.randint(-9, 9), rng.randint(-9, 9)
    p, q = -(r1 + r2), r1 * r2
    text = f"What is the sum of all values of $x$ that satisfy $x^2 {_signed(p)}x {_signed(q)} = 0$?"
    steps = [
        f"The quadratic factors as $(x {_signed(-r1)})(x {_signed(-r2)}) = 0$.",
        f"Its roots are ${r1}$ and ${r2}$, whose sum is ${r1 + r2}$.",
    ]
    wrong = [str(p), str(q)] if r1 != r2 else [str(p), str(r1)]
    return text, Fraction(r1 + r2), steps, [w for w in wrong if w != str(r1 + r2)] or [str(q + 1)], None


def _l3_two_numbers(rng: random.Random) -> _Made:
    big, small = rng.randint(20, 90), rng.randint(3, 19)
    text = (
        f"The sum of two numbers is ${big + small}$ and their difference is ${big - small}$. What is the larger number?"
    )
    steps = [
        f"Adding the two equations $x+y={big + small}$ and $x-y={big - small}$ gives $2x={2 * big}$.",
        f"So the larger number is ${big}$.",
    ]
    return text, Fraction(big), steps, [str(small), str(2 * big)], None


def _l4_distance(rng: random.Random) -> _Made:
    while True:
        x1, y1, dx, dy = rng.randint(-8, 8), rng.randint(-8, 8), rng.randint(1, 9), rng.randint(1, 9)
        square = dx * dx + dy * dy
        coefficient, radicand = _simplify_root(square)
        if radicand > 1:
            break
    x2, y2 = x1 + dx, y1 - dy
    answer = _radical(coefficient, radicand)
    text = (f"What is the distance between the points $({x1}, {y1})$ and $({x2}, {y2})$? "
            "Express your answer in simplest radical form.")  # fmt: skip
    steps = [
        f"The distance is $\\sqrt{{({x2}-({x1}))^2+({y2}-({y1}))^2}} = \\sqrt{{{dx * dx}+{dy * dy}}}$.",
        f"Since ${square} = {coefficient}^2 \\cdot {radicand}$, this is ${answer}$.",
    ]
    k, r = coefficient, radicand
    slips = [_radical(k + 1, r), _radical(max(k - 1, 1), r + 1), _radical(k, r + 2), f"\\sqrt{{{square + 2}}}"]
    slips += [_radical(k, r * 4), f"{k + r}", _radical(k * 2, r)]
    forms = (answer, answer.replace(f"\\sqrt{{{radicand}}}", f"\\sqrt{radicand}") if radicand < 10 else answer)
    return text, answer, steps, [f"\\sqrt{{{square}}}", str(square)], [s for s in slips if s not in forms][:7] or ["0"]


def _l4_series(rng: random.Random) -> _Made:
    a = rng.randint(2, 12)
    ratio = Fraction(rng.randint(1, 4) * rng.choice([-1, 1]), rng.randint(5, 9))
    value = a / (1 - ratio)
    sign = "+" if ratio > 0 else "-"
    terms = f"{a} {sign} {_frac(abs(a * ratio))} + {_frac(a * ratio * ratio)} {sign} \\cdots"
    text = f"Evaluate the infinite geometric series: ${terms}$"
    steps = [
        f"The first term is ${a}$ and the common ratio is ${_frac(ratio)}$.",
        f"The sum is $\\frac{{{a}}}{{1-({_frac(ratio)})}} = {_frac(value)}$.",
    ]
    return text, value, steps, [_frac(a / (1 + ratio)), _frac(a * ratio / (1 - ratio))], None


def _l4_line(rng: random.Random) -> _Made:
    p, q, b = rng.choice([-7, -5, -3, 2, 3, 4, 6, 8]), rng.randint(-20, 20), rng.randint(-9, 9)
    value = Fraction(q - b, p)
    text = (
        f"For what value of $k$ does the line $y = kx {_signed(b)}$ pass through the point $({p}, {q})$?" + _AS_FRACTION
    )
    steps = [f"Substituting the point gives ${q} = {p}k + ({b})$.", f"So ${p}k = {q - b}$ and $k = {_frac(value)}$."]
    return text, value, steps, [_frac(Fraction(q + b, p)), _frac(Fraction(p, q - b)) if q != b else "1"], None


def _l5_domain(rng: random.Random) -> _Made:
    a, b = rng.randint(2, 30), rng.randint(2, 9)
    end = _frac(Fraction(a, b))
    function = f"f(x) = \\sqrt{{{a} - {b}x}} + \\frac{{1}}{{x^2 + 1}}"
    text = f"Find the domain of the function ${function}$. Express your answer in interval notation."
    steps = [
        f"The square root needs ${a} - {b}x \\ge 0$, that is $x \\le {end}$.",
        "The fraction is defined for every real $x$.",
    ]
    answer = f"(-\\infty, {end}]"
    near = [f"(-\\infty, {_frac(Fraction(a, b) + d)}]" for d in (1, -1, Fraction(1, b))] + [
        f"(-\\infty, {_frac(Fraction(b, a))}]"
    ]
    misread = [f"[{end}, \\infty)", f"(-\\infty, {end})"]
    return text, answer, steps, misread, near


def _l5_absolute(rng: random.Random) -> _Made:
    a, b, c = rng.randint(2, 9), rng.randint(-20, 20), rng.randint(1, 30)
    value = Fraction(-2 * b, a)
    text = f"What is the sum of all solutions of the equation $|{a}x {_signed(b)}| = {c}$?" + _AS_FRACTION
    steps = [
        f"Either ${a}x + ({b}) = {c}$ or ${a}x + ({b}) = -{c}$.",
        f"So $x = {_frac(Fraction(c - b, a))}$ or $x = {_frac(Fraction(-c - b, a))}$; the sum is ${_frac(value)}$.",
    ]
    return text, value, steps, [_frac(Fraction(c - b, a)), _frac(Fraction(2 * c, a))], None


def _l5_largest_root(rng: random.Random) -> _Made:
    while True:
        p, q, r, s = rng.randint(1, 6), rng.randint(-9, 9), rng.randint(1, 6), rng.randint(-9, 9)
        roots = {Fraction(-q, p), Fraction(-s, r)}
        if len(roots) == 2 and q and s:
            break
    a, b, c = p * r, p * s + q * r, q * s
    value = max(roots)
    text = f"What is the largest value of $x$ such that ${a}x^2 {_signed(b)}x {_signed(c)} = 0$?" + _AS_FRACTION
    steps = [
        f"The quadratic factors as $({p}x {_signed(q)})({r}x {_signed(s)}) = 0$.",
        f"Its roots are ${_frac(Fraction(-q, p))}$ and ${_frac(Fraction(-s, r))}$; the larger is ${_frac(value)}$.",
    ]
    return text, value, steps, [_frac(min(roots)), _frac(-value)], None


def _l5_pair(rng: random.Random) -> _Made:
    while True:
        a, b, c, d = (rng.randint(-7, 7) for _ in range(4))
        x, y = Fraction(rng.randint(-9, 9), rng.choice([1, 1, 2, 3])), Fraction(rng.randint(-9, 9))
        if a * d - b * c != 0 and a and b and c and d and x != y:
            break
    e, f = a * x + b * y, c * x + d * y
    equations = f"${a}x {_signed(b)}y = {_frac(e)}$ and ${c}x {_signed(d)}y = {_frac(f)}$"
    text = f"Find the ordered pair $(x, y)$ that satisfies {equations}."
    steps = [
        f"Eliminating $y$ gives ${a * d - b * c}x = {_frac(e * d - b * f)}$, so $x = {_frac(x)}$.",
        f"Substituting back, $y = {_frac(y)}$.",
    ]
    answer = f"({_frac(x)}, {_frac(y)})"
    near = [
        f"({_frac(x + 1)}, {_frac(y)})",
        f"({_frac(x)}, {_frac(y - 1)})",
        f"({_frac(-x)}, {_frac(y)})",
        f"({_frac(x)}, {_frac(-y)})",
    ]
    return text, answer, steps, [f"({_frac(y)}, {_frac(x)})"], [n for n in near if n != answer]


_MAKERS: dict[int, tuple[Callable[[random.Random], _Made], ...]] = {
    1: (_l1_linear, _l1_arithmetic),
    2: (_l2_system, _l2_function, _l2_percent),
    3: (_l3_fraction_equation, _l3_roots, _l3_two_numbers),
    4: (_l4_distance, _l4_series, _l4_line),
    5: (_l5_domain, _l5_absolute, _l5_largest_root, _l5_pair),
}


def _make(level: int, split: str, index: int, seen: set[str]) -> MathProblem:
    attempt = 0
    while True:
        rng = random.Random(f"{_SEED}|{split}|{level}|{index}|{attempt}")
        maker = _MAKERS[level][index % len(_MAKERS[level])]
        text, answer, steps, misread, near = maker(rng)
        if text not in seen:
            break
        attempt += 1
    seen.add(text)
    if isinstance(answer, Fraction):
        forms, slips = _forms(answer), _near(answer, rng)
    else:
        forms, slips = _interval_or_pair_forms(answer), list(near or [])
    misconceptions = tuple(dict.fromkeys(m for m in misread if m not in forms)) or (slips[0],)
    slips = [s for s in slips if s not in forms and s not in misconceptions]
    return MathProblem(
        problem_id=f"algebra-{split}-l{level}-{index:03d}",
        split=split,
        level=level,
        problem=text,
        answer=forms[0],
        steps=tuple(steps),
        forms=forms,
        slips=tuple(slips),
        misconceptions=misconceptions,
    )


def _interval_or_pair_forms(answer: str) -> tuple[str, ...]:
    forms = [answer, answer.replace(", ", ","), answer.replace("\\frac", "\\dfrac")]
    if answer.startswith("(-\\infty"):
        forms.append("\\left" + answer[0] + answer[1:-1] + "\\right" + answer[-1])
    return tuple(dict.fromkeys(forms))


@functools.cache
def problems() -> dict[str, tuple[MathProblem, ...]]:
    """All problems by split (``"train"``: 100 per level, ``"test"``: 200 per level), level by level."""
    seen: set[str] = set()
    out: dict[str, tuple[MathProblem, ...]] = {}
    for split, count in (("train", TRAIN_PER_LEVEL), ("test", TEST_PER_LEVEL)):
        out[split] = tuple(_make(level, split, index, seen) for level in LEVELS for index in range(count))
    return out


def load_problems() -> dict[str, list[dict[str, str]]]:
    """The problems as rows of ``competition_math`` (``problem``, ``level``, ``type``, ``solution``), by split."""
    return {split: [p.row() for p in items] for split, items in problems().items()}


_MATH = re.compile(r"\$([^$]+)\$")


@functools.cache
def _by_first_formula() -> dict[str, tuple[MathProblem, ...]]:
    index: dict[str, list[MathProblem]] = {}
    for items in problems().values():
        for problem in items:
            first = _MATH.search(problem.problem)
            index.setdefault(_key(first.group(1)) if first else "", []).append(problem)
    return {formula: tuple(found) for formula, found in index.items()}


def _key(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def find_problem(prompt: str) -> MathProblem | None:
    """The problem whose statement appears in ``prompt``, if any.

    Example:
        >>> problem = problems()["test"][0]
        >>> find_problem("Solve this: " + problem.problem + " Put the answer in \\\\boxed{}.") == problem
        True
    """
    if "$" not in prompt:
        return None
    index = _by_first_formula()
    flat = None
    for formula in _MATH.findall(prompt):
        for problem in index.get(_key(formula), ()):
            flat = flat if flat is not None else _key(prompt)
            if _key(problem.problem) in flat:
                return problem
    return None
