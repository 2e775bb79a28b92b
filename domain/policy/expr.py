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
from domain.policy import wording

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
    "explain",
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


# A test under ``not`` reads as its opposite: the operator that says the same thing positively.
_OPPOSITE: dict[str, str] = {
    "eq": "ne",
    "ne": "eq",
    "gte": "lt",
    "lt": "gte",
    "gt": "lte",
    "lte": "gt",
    "in": "not_in",
}


@dataclass(frozen=True)
class LeafResult:
    """The outcome of one fact test, with texts that explain it in plain words
    (:mod:`domain.policy.wording`: 年龄：48周岁（须满40周岁）; 性别：女; 城镇：待核实).
    ``negated``: the test sits under an odd number of ``not`` and ``value`` is already what it
    contributes to the rule (true when the rule's wish is met)."""

    fact: str
    op: Op
    expected: Any
    actual: Any
    value: bool | None
    negated: bool = False

    def wanted(self) -> tuple[str, Any]:
        """The operator and value the rule wants, read positively (a negated ``gte`` wants
        ``lt``, a negated ``is true`` wants ``is false``)."""
        if not self.negated:
            return self.op, self.expected
        if self.op in ("is", "exists"):
            return self.op, not self.expected
        return _OPPOSITE[self.op], self.expected

    def _text(self, zh: bool) -> str:
        name = wording.fact_name(self.fact, zh)
        sep = "：" if zh else ": "
        op, expected = self.wanted()
        if op == "exists":
            stated = self.actual is not None
            have = (
                ("已填报" if stated else "未填报") if zh else ("stated" if stated else "not stated")
            )
        else:
            have = wording.value_text(self.fact, self.actual, zh)
        text = f"{name}{sep}{have}"
        need = wording.requirement(self.fact, op, expected, zh)
        if op in ("is", "exists") or (op == "eq" and self.value is True):
            # 是/否 says it all when it holds or is unknown; say what is wanted when it fails.
            return (
                text
                if self.value is not False
                else f"{text}（{need}）"
                if zh
                else f"{text} ({need})"
            )
        return f"{text}（{need}）" if zh else f"{text} ({need})"

    def explain_en(self) -> str:
        return self._text(False)

    def explain_zh(self) -> str:
        return self._text(True)


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


def _nearest(branches: Sequence[tuple[bool | None, list[LeafResult]]]) -> int:
    """The failed branch closest to holding: fewest failed tests, and among those the one
    whose failures are on amounts rather than on who the person is (a man of 45 is nearest
    to the men's branch, which fails on age, not to the women's, which fails on sex)."""

    def score(i: int) -> tuple[int, int, int]:
        failed = [leaf for leaf in branches[i][1] if leaf.value is False]
        identity = sum(1 for leaf in failed if leaf.op in ("eq", "ne", "in", "is"))
        return len(failed), identity, i

    return min(range(len(branches)), key=score)


def explain(expr: Expr, facts: Mapping[str, Any]) -> Evaluation:
    """Evaluate ``expr`` like :func:`evaluate` but keep only the tests that explain the result
    to an officer: for ``all``, the failed parts when it fails, else every part (what holds
    and what is still to verify); for ``any``, the first branch that holds, else the branches
    that can still hold (unknown), else the nearest failed branch — never the branch that
    cannot apply (a woman is not told the men's age limit)."""

    def run(e: Expr, neg: bool) -> tuple[bool | None, list[LeafResult]]:
        if isinstance(e, Test):
            actual = facts.get(e.fact)
            result = _compare(e.op, actual, e.value)
            shown = result if not neg or result is None else not result
            return result, [LeafResult(e.fact, e.op, e.value, actual, shown, negated=neg)]
        if isinstance(e, Not):
            inner, leaves = run(e.item, not neg)
            return (None if inner is None else not inner), leaves
        parts = [run(item, neg) for item in e.items]
        value = (_and if isinstance(e, All) else _or)([p[0] for p in parts])
        # Under an odd number of ``not`` an ``all`` wishes one part to fail: it works as ``any``.
        wish_all = isinstance(e, All) != neg
        eff = [p[0] if not neg or p[0] is None else not p[0] for p in parts]
        own = value if not neg or value is None else not value
        if wish_all:
            chosen = (
                [p for p, v in zip(parts, eff, strict=True) if v is False]
                if own is False
                else parts
            )
        elif own is True:
            chosen = [next(p for p, v in zip(parts, eff, strict=True) if v is True)]
        elif own is None:
            chosen = [p for p, v in zip(parts, eff, strict=True) if v is None]
        else:
            chosen = [parts[_nearest(parts)]]
        return value, [leaf for p in chosen for leaf in p[1]]

    value, leaves = run(expr, False)
    return Evaluation(value=value, leaves=leaves)
