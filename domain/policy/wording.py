"""Plain words for the facts a policy pack tests (事实与取值的通俗表述): the name of a fact, its
value and what a rule requires of it, in Chinese and in English, as an officer reads them —
女 rather than ``female``, 是/否 rather than ``true``, 2026年3月1日, 48周岁, 大专及以上 — never a
field path or an operator symbol.

The field titles of :mod:`domain.facts` are the names; the few that read as form labels (a
unit in brackets, a note for integrators) get a plain name there (:data:`FACT_NAMES`), with
the units of the numbers (:data:`FACT_UNITS`). Enum values take their names
from :data:`domain.facts.CHOICE_NAMES`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from domain.calendar import day_words
from domain.facts import CHOICE_NAMES, FACT_NAMES, fact_catalogue, input_spec, unit_of

__all__ = [
    "ORDERED_CHOICES",
    "fact_name",
    "requirement",
    "value_text",
]

# Enums whose choices are ranked, lowest first: a test over the top of the ranking reads
# "大专及以上" (education levels; marital statuses, say, have no order).
ORDERED_CHOICES: dict[str, tuple[str, ...]] = {
    "graduate.level": ("secondary_vocational", "junior_college", "bachelor", "postgraduate"),
}


def fact_name(path: str, zh: bool) -> str:
    """The plain name of a fact path (the path itself only for a fact nobody catalogued)."""
    if path in FACT_NAMES:
        return FACT_NAMES[path][0 if zh else 1]
    # A predicate fact, or a primary fact an officer enters (a list such as children's birth
    # dates is not a predicate fact).
    spec = fact_catalogue().get(path) or input_spec(path)
    if spec is None:
        return path
    return spec.label_zh if zh else spec.label_en


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def value_text(path: str, value: Any, zh: bool) -> str:
    """A fact's value in words, with its unit: 女, 是, 2026年3月1日, 48周岁; a list (children's
    birth dates) its items joined, an empty one 无."""
    if value is None:
        return "待核实" if zh else "to be verified"
    if isinstance(value, list | tuple):
        if not value:
            return "无" if zh else "none"
        return ("、" if zh else ", ").join(value_text(path, v, zh) for v in value)
    if isinstance(value, bool):
        return ("是" if value else "否") if zh else ("yes" if value else "no")
    if isinstance(value, date):
        return day_words(value, zh=zh)
    if isinstance(value, int | float):
        unit = unit_of(path)  # a pack's own number fact has its own unit
        if not any(unit):
            return _number(value)
        return f"{_number(value)}{unit[0]}" if zh else f"{_number(value)} {unit[1]}"
    if isinstance(value, str) and value in CHOICE_NAMES:
        return CHOICE_NAMES[value][0 if zh else 1]
    return str(value)


def _choices(path: str, values: tuple[Any, ...], zh: bool) -> str:
    ranked = ORDERED_CHOICES.get(path)
    if ranked and 1 < len(values) < len(ranked) and set(values) == set(ranked[-len(values) :]):
        lowest = value_text(path, ranked[-len(values)], zh)
        return f"{lowest}及以上" if zh else f"{lowest} or above"
    if ranked and 1 < len(values) < len(ranked) and set(values) == set(ranked[: len(values)]):
        highest = value_text(path, ranked[len(values) - 1], zh)
        return f"{highest}及以下" if zh else f"{highest} or below"
    words = [value_text(path, v, zh) for v in values]
    if len(words) == 1:
        return words[0]
    return (
        ("、".join(words[:-1]) + "或" + words[-1])
        if zh
        else (", ".join(words[:-1]) + " or " + words[-1])
    )


_ORDER_ZH = {
    "gte": ("须满", "须不早于"),
    "gt": ("须超过", "须晚于"),
    "lte": ("须不超过", "须不晚于"),
    "lt": ("须不满", "须早于"),
}
_ORDER_EN = {
    "gte": ("at least", "on or after"),
    "gt": ("more than", "after"),
    "lte": ("at most", "on or before"),
    "lt": ("less than", "before"),
}


def requirement(path: str, op: str, expected: Any, zh: bool) -> str:
    """What a test requires, in words: 须满40周岁, 须为大专及以上, needs at least 6 months.
    ``not_in`` is the negated ``in`` (a test under ``not``)."""
    if op == "exists":
        if zh:
            return "须填报" if expected else "不得填报"
        return "must be stated" if expected else "must not be stated"
    if op in _ORDER_ZH:
        words = (_ORDER_ZH if zh else _ORDER_EN)[op][1 if isinstance(expected, date) else 0]
        if zh and op == "gte" and unit_of(path)[0].startswith("元"):
            words = "须不低于"  # an amount is "not below", an age or a duration is "reached"
        value = value_text(path, expected, zh)
        return f"{words}{value}" if zh else f"needs {words} {value}"
    if op in ("in", "not_in"):
        values = tuple(expected) if isinstance(expected, tuple | list) else (expected,)
        text = _choices(path, values, zh)
        if zh:
            return ("须为" if op == "in" else "不得为") + text
        return ("must be " if op == "in" else "must not be ") + text
    value = value_text(path, expected, zh)
    if op == "ne":
        return f"不得为{value}" if zh else f"must not be {value}"
    return f"须为{value}" if zh else f"must be {value}"
