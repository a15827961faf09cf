"""Part of the sandbox worker's script (see ``_zygote.py``): values as plain data, both ways.

What crosses between a program and the judge is plain data only (numbers, strings, lists, tuples, sets,
dicts); anything else becomes a marker that equals nothing. The host decodes strict mode's values with
the same :func:`decode`. Standard library only.
"""

import math

SAFE_TYPES = (int, float, str, bool, type(None))
# Integers this long cross in hexadecimal: Python refuses to read a decimal integer of over 4,300 digits
# (``sys.get_int_max_str_digits``), and the host must not change that setting for its whole process.
HEX_INT_BITS = 12000


class Unsplittable(BaseException):
    """The test passed the function an argument that is not plain data."""


def plain(value, depth=0, strict=False):
    """A JSON-safe copy of ``value`` built only from plain data; anything else becomes a marker,
    so an object with a forged ``__eq__`` can never compare equal to an expected value. With
    ``strict`` (arguments the test passes), a value that is not plain data raises
    :class:`Unsplittable` instead: the test cannot be run apart from the program."""
    if depth > 100:
        if strict:
            raise Unsplittable("too deep")
        return {"__unserializable__": "too deep"}
    if type(value) in SAFE_TYPES:
        if type(value) is float and not math.isfinite(value):
            return {"__float__": repr(value)}
        if type(value) is int and value.bit_length() > HEX_INT_BITS:
            return {"__int__": hex(value)}
        return value
    if type(value) in (list, tuple):
        return {"__" + type(value).__name__ + "__": [plain(v, depth + 1, strict) for v in value]}
    if type(value) in (set, frozenset):
        return {"__set__": sorted((plain(v, depth + 1, strict) for v in value), key=repr)}
    if type(value) is dict:
        return {"__dict__": [[plain(k, depth + 1, strict), plain(v, depth + 1, strict)] for k, v in value.items()]}
    if strict and type(value) is not Opaque:  # an opaque value came from the program: it stays opaque
        raise Unsplittable(type(value).__name__)
    return {"__unserializable__": type(value).__name__}


class Opaque:
    """A value that was not plain data: equal to nothing, usable as nothing (not even as a truth
    value, so ``assert candidate(x)`` fails rather than trusting an object the program built)."""

    def __init__(self, name):
        self.name = name

    def __eq__(self, other):
        return False

    def __bool__(self):
        raise TypeError(f"{self.name} returned by the program is not plain data")

    def __repr__(self):
        return f"<opaque {self.name}>"

    __hash__ = object.__hash__  # by identity, so a set of them can be rebuilt


def decode(data):
    """The inverse of :func:`plain`, building only plain Python values (and :class:`Opaque`)."""
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict) or len(data) != 1:
        return data if not isinstance(data, dict) else Opaque("dict")
    ((tag, inner),) = data.items()
    if tag == "__list__":
        return [decode(v) for v in inner]
    if tag == "__tuple__":
        return tuple(decode(v) for v in inner)
    if tag == "__set__":
        return {decode_key(v) for v in inner}
    if tag == "__dict__":
        return {decode_key(k): decode(v) for k, v in inner}
    if tag == "__float__" and inner in ("nan", "inf", "-inf"):
        return float(inner)
    if tag == "__int__" and isinstance(inner, str):
        try:
            return int(inner, 16)
        except ValueError:
            return Opaque("int")
    return Opaque(str(inner))


def decode_key(data):
    """A set element or dict key: a set there was a frozenset (:func:`plain` writes both alike); a value
    that cannot be one (data no honest run produces) is opaque."""
    value = decode(data)
    if type(value) is set:
        return frozenset(value)
    try:
        hash(value)
    except TypeError:
        return Opaque(type(value).__name__)
    return value
