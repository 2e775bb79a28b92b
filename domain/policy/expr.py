"""The predicate language of policy packs (认定条件表达式): safe, data-only, three-valued.

A predicate is a TOML/JSON table. Combinators: ``{ all = [...] }``, ``{ any = [...] }``,
``{ not = {...} }``. Leaf tests name a fact path and exactly one operator:
``{ fact = "person.age", gte = 40 }`` with ``eq``, ``ne``, ``gte``, ``lte``, ``gt``, ``lt``,
``in`` (a list), ``is`` (boolean facts) or ``exists`` (true/false: the fact is stated).
Fact paths are checked against :func:`domain.facts.fact_catalogue` at load time, and the value
against the fact's type (numbers for ``gte``, enum choices for ``eq``...), so a typo in a pack
fails when the pack loads, not when an applicant is assessed. Evaluation uses Kleene
three-valued logic: a leaf over an unknown (``None``) fact is *unknown*; ``all`` is false if any
part is false, ``any`` is true if any part is true, otherwise unknown propagates. Nothing is
ever executed: there are no function calls, no arithmetic, no access outside the fact map.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, TypeAlias

from domain.facts import FactSpec, fact_catalogue

__all__ = [
    "OPERATORS",
    "All",
    "AnyOf",
    "Evaluation",
    "Expr",
    "ExprError",
    "LeafResult",
    "Not",
    "Test",
    "evaluate",
    "expr_facts",
    "expr_to_data",
    "parse_expr",
]

Op = Literal["eq", "ne", "gte", "lte", "gt", "lt", "in", "is", "exists"]
OPERATORS: tuple[Op, ...] = ("eq", "ne", "gte", "lte", "gt", "lt", "in", "is", "exists")
_ORDER_OPS = ("gte", "lte", "gt", "lt")
_SYMBOL = {
    "eq": "=",
    "ne": "≠",
    "gte": "≥",
    "lte": "≤",
    "gt": ">",
    "lt": "<",
    "in": "∈",
    "is": "=",
    "exists": "exists",
}
Scalar: TypeAlias = bool | int | float | str | date


class ExprError(ValueError):
    """A malformed predicate; the message starts with the path inside the predicate."""


@dataclass(frozen=True)
class Test:
    fact: str
    op: Op
    value: Any


@dataclass(frozen=True)
class All:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    item: Expr


Expr: TypeAlias = All | AnyOf | Not | Test


# --- parsing ------------------------------------------------------------------------------


def _type_ok(spec: FactSpec, value: Any) -> bool:
    if spec.type == "bool":
        return isinstance(value, bool)
    if spec.type in ("int", "float"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if spec.type == "date":
        return isinstance(value, date)
    if spec.type == "enum":
        return isinstance(value, str) and value in spec.choices
    return isinstance(value, str)


def _expected(spec: FactSpec) -> str:
    if spec.type == "enum":
        return "one of " + ", ".join(repr(c) for c in spec.choices)
    return {"bool": "true/false", "int": "a number", "float": "a number"}.get(
        spec.type, f"a {spec.type}"
    )


def _as_date(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, list):
        return [_as_date(v) for v in value]
    return value


def _parse_leaf(raw: Mapping[str, Any], where: str) -> Test:
    fact = raw["fact"]
    if not isinstance(fact, str):
        raise ExprError(f"{where}.fact: must be a string")
    ops = [k for k in raw if k != "fact"]
    unknown = [k for k in ops if k not in OPERATORS]
    if unknown:
        raise ExprError(
            f"{where}: unknown operator {unknown[0]!r}; expected one of {', '.join(OPERATORS)}"
        )
    if len(ops) != 1:
        raise ExprError(f"{where}: a test needs exactly one operator, got {len(ops)}")
    op: Op = ops[0]  # type: ignore[assignment]  # checked against OPERATORS above
    value = raw[op]
    catalogue = fact_catalogue()
    spec = catalogue.get(fact)
    if spec is None:
        raise ExprError(f"{where}.fact: unknown fact path {fact!r}")
    if spec.type == "date":
        # TOML has native dates; JSON (a pinned pack) carries them as ISO strings.
        value = _as_date(value)
    if op == "exists":
        if not isinstance(value, bool):
            raise ExprError(f"{where}.exists: must be true or false")
    elif op == "is":
        if spec.type != "bool":
            raise ExprError(f"{where}.is: {fact} is not a true/false fact; use eq")
        if not isinstance(value, bool):
            raise ExprError(f"{where}.is: must be true or false")
    elif op in _ORDER_OPS:
        if spec.type not in ("int", "float", "date"):
            raise ExprError(f"{where}.{op}: {fact} ({spec.type}) cannot be ordered")
        if not _type_ok(spec, value):
            raise ExprError(f"{where}.{op}: expected {_expected(spec)}, got {value!r}")
    elif op == "in":
        if not isinstance(value, list) or not value:
            raise ExprError(f"{where}.in: must be a non-empty list")
        for i, v in enumerate(value):
            if not _type_ok(spec, v):
                raise ExprError(f"{where}.in[{i}]: expected {_expected(spec)}, got {v!r}")
        value = tuple(value)
    else:  # eq / ne
        if not _type_ok(spec, value):
            raise ExprError(f"{where}.{op}: expected {_expected(spec)}, got {value!r}")
    return Test(fact=fact, op=op, value=value)


def parse_expr(raw: Any, where: str = "when") -> Expr:
    """Parse a predicate from its TOML/JSON form; raises :class:`ExprError` naming the path
    inside the predicate (``when.all[1].any[0].gte: expected a number, got '40'``)."""
    if isinstance(raw, All | AnyOf | Not | Test):
        return raw
    if not isinstance(raw, Mapping):
        raise ExprError(f"{where}: expected a table, got {type(raw).__name__}")
    if "fact" in raw:
        return _parse_leaf(raw, where)
    if len(raw) != 1:
        keys = ", ".join(sorted(raw)) or "nothing"
        raise ExprError(f"{where}: expected one of all/any/not or a fact test, got {keys}")
    ((key, body),) = raw.items()
    if key in ("all", "any"):
        if not isinstance(body, list) or not body:
            raise ExprError(f"{where}.{key}: must be a non-empty list")
        items = tuple(parse_expr(b, f"{where}.{key}[{i}]") for i, b in enumerate(body))
        return All(items) if key == "all" else AnyOf(items)
    if key == "not":
        return Not(parse_expr(body, f"{where}.not"))
    if key in OPERATORS:
        raise ExprError(f"{where}: operator {key!r} without a fact")
    raise ExprError(f"{where}: unknown operator {key!r}; expected all, any, not or a fact test")


def _value_to_data(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_value_to_data(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def expr_to_data(expr: Expr) -> dict[str, Any]:
    """The JSON form of a predicate (dates as ISO strings; re-parsed by the pack model)."""
    if isinstance(expr, Test):
        return {"fact": expr.fact, expr.op: _value_to_data(expr.value)}
    if isinstance(expr, All):
        return {"all": [expr_to_data(e) for e in expr.items]}
    if isinstance(expr, AnyOf):
        return {"any": [expr_to_data(e) for e in expr.items]}
    return {"not": expr_to_data(expr.item)}


def expr_facts(expr: Expr) -> list[str]:
    """The fact paths a predicate reads, in order of first use."""
    out: list[str] = []

    def walk(e: Expr) -> None:
        if isinstance(e, Test):
            if e.fact not in out:
                out.append(e.fact)
        elif isinstance(e, Not):
            walk(e.item)
        else:
            for item in e.items:
                walk(item)

    walk(expr)
    return out


# --- evaluation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LeafResult:
    """The outcome of one fact test, with texts that explain it."""

    fact: str
    op: Op
    expected: Any
    actual: Any
    value: bool | None

    def _label(self) -> tuple[str, str]:
        spec = fact_catalogue().get(self.fact)
        if spec is None:
            return self.fact, self.fact
        return spec.label_zh, spec.label_en

    def _wanted(self) -> str:
        exp = self.expected
        if isinstance(exp, tuple):
            return "{" + ", ".join(str(_value_to_data(v)) for v in exp) + "}"
        if isinstance(exp, bool):
            return "true" if exp else "false"
        return str(_value_to_data(exp))

    def _actual(self) -> str:
        a = self.actual
        if isinstance(a, bool):
            return "true" if a else "false"
        return str(_value_to_data(a))

    def explain_en(self) -> str:
        label = f"{self._label()[1]} ({self.fact})"
        if self.op == "exists":
            return f"{label} must {'be' if self.expected else 'not be'} stated"
        want = f"{_SYMBOL[self.op]} {self._wanted()}"
        if self.actual is None:
            return f"{label} is not stated; needs {want}"
        return f"{label} is {self._actual()}; needs {want}"

    def explain_zh(self) -> str:
        label = f"{self._label()[0]}({self.fact})"
        if self.op == "exists":
            return f"{label}{'须' if self.expected else '不得'}填报"
        want = f"{_SYMBOL[self.op]} {self._wanted()}"
        if self.actual is None:
            return f"{label}未填报，要求 {want}"
        return f"{label}为 {self._actual()}，要求 {want}"


@dataclass
class Evaluation:
    """Three-valued result plus the leaves that made it false or unknown."""

    value: bool | None
    leaves: list[LeafResult] = field(default_factory=list)

    @property
    def failed(self) -> list[LeafResult]:
        return [leaf for leaf in self.leaves if leaf.value is False]

    @property
    def unknown_facts(self) -> list[str]:
        out: list[str] = []
        for leaf in self.leaves:
            if leaf.value is None and leaf.fact not in out:
                out.append(leaf.fact)
        return out


def _compare(op: Op, actual: Any, expected: Any) -> bool | None:
    if op == "exists":
        return (actual is not None) is bool(expected)
    if actual is None:
        return None
    if op in ("eq", "is"):
        return bool(actual == expected)
    if op == "ne":
        return bool(actual != expected)
    if op == "in":
        return actual in expected
    if op == "gte":
        return bool(actual >= expected)
    if op == "lte":
        return bool(actual <= expected)
    if op == "gt":
        return bool(actual > expected)
    return bool(actual < expected)


def _and(values: Sequence[bool | None]) -> bool | None:
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def _or(values: Sequence[bool | None]) -> bool | None:
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


def evaluate(expr: Expr, facts: Mapping[str, Any]) -> Evaluation:
    """Evaluate ``expr`` over a flat ``{path: value}`` map (see
    :func:`domain.facts.fact_values`). Every leaf is evaluated (no short-circuit), so the
    explanation lists all failed and unknown tests at once."""
    leaves: list[LeafResult] = []

    def run(e: Expr) -> bool | None:
        if isinstance(e, Test):
            actual = facts.get(e.fact)
            result = _compare(e.op, actual, e.value)
            leaves.append(LeafResult(e.fact, e.op, e.value, actual, result))
            return result
        if isinstance(e, Not):
            inner = run(e.item)
            return None if inner is None else not inner
        results = [run(item) for item in e.items]
        return _and(results) if isinstance(e, All) else _or(results)

    value = run(expr)
    return Evaluation(value=value, leaves=leaves)
