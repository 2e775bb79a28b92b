"""The one check of a task completion's ``fields`` before it is sent to the workflow (issue #20
§4), for the API and the pages alike (``services.tasks.complete_task`` runs it): every key is
a field of the task's own form, every value of its type and within its size, so that bad
input is a 422 naming ``fields.<name>`` and no decision can come near Temporal's payload
limits. The form is the workflow's — the outcomes, the fields each needs and the allowed
values it opened the task with (``HumanTasks.open``, kept on the task row as
``payload.form``); which values it checks (required fields, choices) stays its own
``HumanTasks.validate``'s. On the identification's decision tasks it also checks the facts the
officer verified (``verified_facts``, #21): offered by this task's form
(:func:`verification_inputs`), each of its type."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from pydantic import ValidationError

from application.errors import Problem
from domain.facts import (
    ApplicantFacts,
    FactInput,
    FactValueError,
    format_validation_error,
    input_spec,
    inputs_to_verify,
    merge_verified,
    parse_fact_value,
    stored_fact,
)
from domain.policy.expr import evaluate
from domain.policy.model import PolicyPack
from domain.text import TextRefused, clean_note
from workflows.contracts import TaskKind

# One typed value of a field (a line of text, a code); a list field holds at most LIST_LIMIT.
TEXT_LIMIT = 2000
LIST_LIMIT = 50
# Fields whose value is a list (the supplement's materials, the plan's services and
# standards, the household plan's measures); every other field is one string.
LIST_FIELDS = frozenset({"evidence", "services", "standards", "measures"})
# Fields that take a calendar day (YYYY-MM-DD, as the workflows read them).
DATE_FIELDS = frozenset({"should_have_ended_on", "employed_on"})
# Fields a workflow reads when given, beyond its form: the day a household's member found
# work (workflows/household.py, the clearance; absent, the day of the decision).
OPTIONAL_FIELDS: dict[str, frozenset[str]] = {
    TaskKind.HOUSEHOLD_CLEARANCE: frozenset({"employed_on"}),
}
# Field errors reported at most (a body of a thousand unknown keys is refused all the same).
_MAX_ERRORS = 20


def form_definition(
    payload: Mapping[str, Any],
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The task's form as its workflow opened it: outcome -> required fields, and field ->
    allowed values."""
    form = payload.get("form") if isinstance(payload.get("form"), dict) else {}
    assert isinstance(form, dict)
    outcomes = form.get("outcomes") if isinstance(form.get("outcomes"), dict) else {}
    choices = form.get("choices") if isinstance(form.get("choices"), dict) else {}
    return dict(outcomes or {}), dict(choices or {})


def form_fields(outcomes: Mapping[str, list[str]]) -> list[str]:
    """Every field any outcome needs, in the order the outcomes name them."""
    return list(dict.fromkeys(f for required in outcomes.values() for f in required))


def _value_error(name: str, value: Any) -> tuple[str, str] | None:
    """(message, code) of a value that is not of its field's type or size; None if it is."""
    if name in LIST_FIELDS:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return "must be a list of strings", "list_type"
        if len(value) > LIST_LIMIT:
            return f"at most {LIST_LIMIT} items", "too_long"
        if any(len(v) > TEXT_LIMIT for v in value):
            return f"each item at most {TEXT_LIMIT} characters", "string_too_long"
        return None
    if not isinstance(value, str):
        return "must be a string", "string_type"
    if len(value) > TEXT_LIMIT:
        return f"at most {TEXT_LIMIT} characters", "string_too_long"
    try:
        clean_note(value, TEXT_LIMIT)  # free text's one rule (domain/text.py)
    except TextRefused as refused:
        return str(refused), "hidden_characters"
    if name in DATE_FIELDS and value.strip():
        try:
            date.fromisoformat(value.strip())
        except ValueError:
            return "must be a date (YYYY-MM-DD)", "date_from_datetime_parsing"
    return None


def check_fields(kind: str, payload: Mapping[str, Any], fields: Mapping[str, Any]) -> None:
    """422 ``validation-error`` naming each ``fields.<name>`` that is not a field of the
    task's form (of any of its outcomes: the workflow says which the chosen one needs), or
    whose value is not of its type or over its size."""
    outcomes, choices = form_definition(payload)
    # A task opened before its form was kept on the row has no form here: its workflow's
    # validator alone knows it (the types and sizes are checked all the same).
    known = set(form_fields(outcomes)) | set(choices) | OPTIONAL_FIELDS.get(kind, frozenset())
    errors: list[dict[str, str]] = []
    for name, value in fields.items():
        shown = f"fields.{name[:60]}"
        wrong: tuple[str, str] | None
        if outcomes and name not in known:
            wrong = ("not a field of this task", "extra_forbidden")
        else:
            wrong = _value_error(name, value)
        if wrong is not None:
            errors.append({"field": shown, "message": wrong[0], "code": wrong[1]})
        if len(errors) >= _MAX_ERRORS:
            break
    if errors:
        raise Problem(
            422,
            "validation-error",
            "Invalid request",
            "; ".join(f"{e['field']}: {e['message']}" for e in errors),
            errors=errors,
        )


# --- facts verified on a decision task (#21) ----------------------------------------------

# The identification's decision stages, whose tasks verify facts (domain.facts.VERIFIABLE).
DECISION_KINDS = frozenset(
    {
        TaskKind.ACCEPTANCE,
        TaskKind.INITIAL_REVIEW,
        TaskKind.HOME_VISIT,
        TaskKind.REVIEW,
        TaskKind.IMMEDIATE_CONCLUSION,
    }
)


def facts_pending(pack: PolicyPack, requested: str | None, values: Mapping[str, Any]) -> set[str]:
    """The facts the pre-check leaves unknown (待核实): those of each condition it cannot
    decide — the base conditions, the exclusions and the category applied for (when none was
    named, every category, unless one is met already: the others need no checking). A
    condition already decided (an any-of met by another branch) asks for nothing."""
    categories = [c for c in pack.categories if c.code == requested]
    if not categories and not any(evaluate(c.when, values).value for c in pack.categories):
        categories = list(pack.categories)
    whens = [
        *(b.when for b in pack.base_conditions),
        *(e.when for e in pack.exclusions if e.when is not None),
        *(c.when for c in categories),
    ]
    out: set[str] = set()
    for when in whens:
        result = evaluate(when, values)
        if result.value is None:
            out.update(result.unknown_facts)
    return out


def verification_inputs(
    kind: str, pack: PolicyPack, stored: Mapping[str, Any], on: date
) -> list[FactInput]:
    """The inputs a decision task offers: each fact of the case's pack that the pre-check on
    ``on`` leaves unknown (待核实, :func:`facts_pending`) and that this stage may verify."""
    if kind not in DECISION_KINDS:
        return []
    try:
        facts = ApplicantFacts.model_validate(stored)
    except ValidationError:
        return []  # a case whose facts no longer validate is decided on its page, by hand
    with pack.fact_scope():
        values = pack.values_of(facts, on)
        pending = facts_pending(pack, facts.requested_category, values)
        return inputs_to_verify(kind, pending, values)


def check_verified_facts(
    offered: list[FactInput], stored: Mapping[str, Any], verified: Mapping[str, Any]
) -> dict[str, Any]:
    """The verified facts as the workflow receives them (JSON: dates as YYYY-MM-DD), or 422
    ``validation-error`` naming each ``verified_facts.<path>`` that is not a known fact
    (``unknown_fact``), not one this task offers (``not_verifiable``), or of the wrong type
    (``bool_type``, ``date_type``, ``int_type``, ``float_type``, ``enum``, ``list_type``,
    ``greater_than_equal``, ``too_long``); together they must still make valid facts."""
    offered_paths = {i.path for i in offered}
    errors: list[dict[str, str]] = []
    parsed: dict[str, Any] = {}
    for path, raw in verified.items():
        shown = f"verified_facts.{path[:60]}"
        if input_spec(path) is None:
            errors.append({"field": shown, "message": "unknown fact", "code": "unknown_fact"})
        elif path not in offered_paths:
            errors.append(
                {
                    "field": shown,
                    "message": "not a fact this task can verify",
                    "code": "not_verifiable",
                }
            )
        else:
            try:
                parsed[path] = parse_fact_value(path, raw)
            except FactValueError as wrong:
                errors.append({"field": shown, "message": str(wrong), "code": wrong.code})
        if len(errors) >= _MAX_ERRORS:
            break
    if not errors:
        try:
            merged = merge_verified(stored, parsed)
        except ValidationError as invalid:
            errors.extend(
                {"field": "verified_facts", "message": line, "code": "value_error"}
                for line in format_validation_error(invalid)
            )
        else:
            return {path: stored_fact(merged, path) for path in parsed}
    raise Problem(
        422,
        "validation-error",
        "Invalid request",
        "; ".join(f"{e['field']}: {e['message']}" for e in errors),
        errors=errors,
    )
