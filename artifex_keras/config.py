"""Frozen dataclass configs with validation that names the offending field.

Every model is described by a frozen dataclass. Bad values fail at construction
with a message that names the class, the field, what was expected and what was
given, for example::

    VAEConfig: `latent_dim` must be a positive int, got -3
"""

import dataclasses
import json
import math


class Config:
    """Base for model configs: validation, dict and JSON round trips.

    Subclasses are frozen dataclasses that implement `validate()` with the
    `check_*` helpers below.

    Example:
    ```python
    @dataclasses.dataclass(frozen=True)
    class MyConfig(Config):
        units: int = 8

        def validate(self):
            self.check_positive_int("units")

    MyConfig(units=0)  # ValueError: MyConfig: `units` must be a positive int, got 0
    ```
    """

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, list):
                object.__setattr__(self, field.name, _to_tuple(value))
        self.validate()

    def validate(self):
        """Raise `ValueError` naming the field when a value is invalid."""

    # Construction helpers -------------------------------------------------
    @classmethod
    def field_names(cls):
        return [field.name for field in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, values):
        """Build a config from a dict, rejecting unknown keys with a hint."""
        unknown = sorted(set(values) - set(cls.field_names()))
        if unknown:
            raise ValueError(unknown_key_message(cls.__name__, unknown[0], cls.field_names()))
        return cls(**values)

    @classmethod
    def from_json(cls, text):
        return cls.from_dict(json.loads(text))

    def to_dict(self):
        return {name: _to_jsonable(getattr(self, name)) for name in self.field_names()}

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def replace(self, **changes):
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    # Validation helpers ---------------------------------------------------
    def _fail(self, name, expected, value):
        raise ValueError(f"{type(self).__name__}: `{name}` must be {expected}, got {value!r}")

    def check_positive_int(self, name, allow_none=False, minimum=1):
        value = getattr(self, name)
        if allow_none and value is None:
            return
        if not _is_int(value) or value <= 0:
            self._fail(name, "a positive int", value)
        if value < minimum:
            self._fail(name, f"an int of at least {minimum}", value)

    def check_non_negative_int(self, name):
        value = getattr(self, name)
        if not _is_int(value) or value < 0:
            self._fail(name, "a non-negative int", value)

    def check_number(self, name, low=None, high=None, low_inclusive=True, high_inclusive=True):
        value = getattr(self, name)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if ok and low is not None:
            ok = value >= low if low_inclusive else value > low
        if ok and high is not None:
            ok = value <= high if high_inclusive else value < high
        if not ok:
            left = "[" if low_inclusive else "("
            right = "]" if high_inclusive else ")"
            bounds = f" in {left}{low if low is not None else '-inf'}, {high if high is not None else 'inf'}{right}"
            self._fail(name, "a finite number" + (bounds if low is not None or high is not None else ""), value)

    def check_choice(self, name, choices):
        value = getattr(self, name)
        if value not in choices:
            self._fail(name, "one of " + ", ".join(repr(c) for c in choices), value)

    def check_int_tuple(self, name, length=None, allow_empty=False):
        value = getattr(self, name)
        ok = isinstance(value, tuple) and all(_is_int(v) and v > 0 for v in value)
        ok = ok and (allow_empty or len(value) > 0)
        if ok and length is not None:
            ok = len(value) == length
        if not ok:
            size = f"{length} " if length is not None else ""
            self._fail(name, f"a tuple of {size}positive ints", value)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _to_tuple(value):
    return tuple(_to_tuple(v) if isinstance(v, list) else v for v in value)


def _to_jsonable(value):
    if isinstance(value, tuple):
        return [_to_jsonable(v) for v in value]
    return value


def unknown_key_message(owner, key, known):
    import difflib

    close = difflib.get_close_matches(key, known, n=3)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return f"{owner}: unknown argument {key!r}.{hint} Expected one of: {', '.join(known)}"

