"""Workflow definitions read once per process, not once per workflow run (#22).

The workflow sandbox imports a workflow's module afresh for every run it starts or replays, so
that no run sees another's module state. The import runs the module's decorators again:
``@workflow.defn`` walks the class's members (``inspect.getmembers``, a protocol
``isinstance`` for each, the signatures of every update and its validator compared) and every
``@workflow.update``, ``@workflow.signal`` and ``@workflow.query`` — and the run method —
resolves its type hints (``typing.get_type_hints``: each string annotation compiled and
evaluated). Creating an identification workflow's sandboxed instance took 3.2–5 ms of the
worker's CPU on this machine, once per application and again at every replay; these two were
~40 % of it (3.7 → 2.1 ms with them kept; bench/before_after.md, twelfth round).

Both give the same answer for the same code, and a run's fresh import is the same code:

- **Type hints** (:func:`_type_hints_once`). A function's hints are kept by its module, name
  and code, with what each of its annotations named in its module when they were read. They
  are reused only while every annotation is a plain name that still names the very same
  object there — a contract type, a builtin; so a type made anew by each import (one of the
  workflow module's own classes, or a module the sandbox restricts) is read again each time.
- **The class's definition** (:func:`_apply_once`). A class whose validated twin (same module
  and name, same options) had the same handlers — the same names, kinds, code and
  annotations, the same validators — is given its definition built from its own handlers,
  without the walk and the checks. Anything else — a first sight, a class with a base of its
  own, a changed handler — takes the SDK's path.

What the sandbox isolates is unchanged: each run still imports its module afresh and runs in
it, and its handlers and definition are its own import's. It replaces two functions of
private SDK modules (``temporalio.common._type_hints_from_func`` and
``temporalio.workflow._Definition._apply_to_class``); should a temporalio release lack them,
:func:`install` leaves the SDK as it is and returns False, and the test that checks it
fails."""

from __future__ import annotations

import builtins
import dataclasses
import functools
import inspect
from collections.abc import Callable, Hashable
from typing import Any

import temporalio.common

try:
    from temporalio.worker.workflow_sandbox._restrictions import _RestrictedProxy as _Proxy
    from temporalio.workflow import _Definition
    from temporalio.workflow._handlers import _UpdateDefinition
except ImportError:  # pragma: no cover - a temporalio release without them
    _Definition = None  # type: ignore[assignment,misc]
    _UpdateDefinition = None  # type: ignore[assignment,misc]
    _Proxy = None  # type: ignore[assignment,misc]

_MISSING = object()
# The marks the SDK's decorators leave on a handler function (temporalio.workflow).
_RUN = "__temporal_workflow_run"
_SIGNAL = "__temporal_signal_definition"
_QUERY = "__temporal_query_definition"
_INIT = "__temporal_workflow_init"
_DYNAMIC_CONFIG = "__temporal_workflow_dynamic_config"
_DEFINITION = "__temporal_workflow_definition"


# --- type hints ------------------------------------------------------------------------------


def _names(func: Any) -> tuple[tuple[str, Any], ...] | None:
    """Each annotation of ``func`` with the object it names in the function's module (or the
    builtins); None when one is not a plain name found there (``list[str]``, a dotted name, an
    annotation that is not a string), or names an object made anew by each import (one of
    the function's own module's, or a module the sandbox restricts): its hints are then not
    kept. (Such an object would never be named again — the check below finds every name's
    object the same — and keeping it would keep its import alive.)"""
    annotations = getattr(func, "__annotations__", None)
    module_globals = getattr(func, "__globals__", None)
    if not isinstance(annotations, dict) or not isinstance(module_globals, dict):
        return None
    named = []
    for annotation in annotations.values():
        if not isinstance(annotation, str) or not annotation.isidentifier():
            return None
        found = module_globals.get(annotation, _MISSING)
        if found is _MISSING:
            found = getattr(builtins, annotation, _MISSING)
        if found is _MISSING and annotation != "None":
            return None
        if _Proxy is not None and type(found) is _Proxy:
            return None
        if getattr(found, "__module__", None) == func.__module__:
            return None
        named.append((annotation, found))
    return tuple(named)


def _same(named: tuple[tuple[str, Any], ...], now: tuple[tuple[str, Any], ...] | None) -> bool:
    return (
        now is not None
        and len(now) == len(named)
        and all(a == b and x is y for (a, x), (b, y) in zip(named, now, strict=True))
    )


def _code(func: Any) -> tuple[Any, ...] | None:
    """A function's code, defaults and string annotations: what a fresh import of the same
    source gives again. None: not a plain function, or annotations that are not strings."""
    if not inspect.isfunction(func):
        return None
    annotations = tuple(func.__annotations__.items())
    if not all(isinstance(a, str) for _, a in annotations):
        return None
    keywords = tuple(sorted((func.__kwdefaults__ or {}).items()))
    code = func.__code__
    return (func.__module__, func.__qualname__, code, func.__defaults__, keywords, annotations)


# Per function (its code): the objects its annotations named, and the hints read then.
_hints: dict[Hashable, tuple[tuple[tuple[str, Any], ...], tuple[Any, Any]]] = {}


def _type_hints_once(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    @functools.wraps(original)
    def type_hints(func: Any) -> Any:
        key, named = _code(func), _names(func)
        try:
            kept = _hints.get(key) if key is not None else None
        except TypeError:  # a default that cannot be hashed
            key = kept = None
        if kept is not None and _same(kept[0], named):
            args, ret = kept[1]
            return (list(args) if args is not None else None), ret
        args, ret = original(func)
        if key is not None and named is not None:
            # The first reading stays: a later one of the same code names the same objects.
            _hints.setdefault(key, (named, (tuple(args) if args is not None else None, ret)))
        return args, ret

    type_hints.kept_once = True  # type: ignore[attr-defined]
    return type_hints


# --- the class's definition --------------------------------------------------------------


def _mark(member: Any) -> tuple[str, str | None] | None:
    """Which handler ``member`` is, and under which name it is sent; None: not a handler."""
    if hasattr(member, _RUN):
        return ("run", None)
    if hasattr(member, _SIGNAL):
        return ("signal", getattr(member, _SIGNAL).name)
    if hasattr(member, _QUERY):
        return ("query", getattr(member, _QUERY).name)
    if hasattr(member, _INIT):
        return ("init", None)
    if hasattr(member, _DYNAMIC_CONFIG):
        return ("dynamic_config", None)
    update = getattr(member, "_defn", None)
    if _UpdateDefinition is not None and type(update) is _UpdateDefinition:
        return ("update", update.name)
    return None


def _shape(cls: type) -> tuple[Any, ...] | None:
    """What the SDK's checks of ``cls`` depend on: each handler's attribute, kind, name, code
    and annotations, and its validator's. None: not a class the quick path takes (a base of
    its own, a definition already on it, a handler that cannot be compared)."""
    if cls.__bases__ != (object,) or _DEFINITION in vars(cls):
        return None
    shape: list[tuple[Any, ...]] = []
    for attribute in sorted(vars(cls)):
        member = getattr(cls, attribute)
        mark = _mark(member)
        if mark is None:
            continue
        code = _code(member)
        validator = getattr(getattr(member, "_defn", None), "validator", None)
        checked = _code(validator) if validator is not None else ()
        if code is None or checked is None:
            return None
        shape.append((attribute, *mark, code, checked))
    return tuple(shape)


# The definition's own fields (not its handlers), from the SDK's reading of the class.
_HANDLERS = ("cls", "run_fn", "signals", "queries", "updates", "dynamic_config_fn")
_READ = ("arg_types", "ret_type")


@dataclasses.dataclass(frozen=True)
class _Validated:
    shape: tuple[Any, ...]
    options: tuple[Any, ...]
    fields: dict[str, Any]


_validated: dict[tuple[str, str], _Validated] = {}


def _rebuilt(cls: type, kept: _Validated) -> None:
    """Put on ``cls`` its definition made of its own handlers, as the SDK's walk collects
    them (its members in name order)."""
    run_fn: Any = None
    dynamic_config_fn: Any = None
    signals: dict[str | None, Any] = {}
    queries: dict[str | None, Any] = {}
    updates: dict[str | None, Any] = {}
    for attribute, kind, name, *_ in kept.shape:
        member = getattr(cls, attribute)
        if kind == "run":
            run_fn = member
        elif kind == "signal":
            signals[name] = getattr(member, _SIGNAL)
        elif kind == "query":
            queries[name] = getattr(member, _QUERY)
        elif kind == "update":
            updates[name] = member._defn
        elif kind == "dynamic_config":
            dynamic_config_fn = member
    # The run method's hints are read for this import (kept above when they name the same
    # objects): arg_types and ret_type are left out, for the definition to read them.
    definition = _Definition(
        **kept.fields,
        cls=cls,
        run_fn=run_fn,
        signals=signals,
        queries=queries,
        updates=updates,
        dynamic_config_fn=dynamic_config_fn,
    )
    setattr(cls, _DEFINITION, definition)
    setattr(run_fn, _DEFINITION, definition)


def _apply_once(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def apply_to_class(cls: type, **options: Any) -> None:
        shape = _shape(cls)
        key = (cls.__module__, cls.__qualname__)
        frozen = tuple(
            (name, tuple(value) if isinstance(value, list) else value)
            for name, value in sorted(options.items())
        )
        kept = _validated.get(key)
        if shape is not None and kept is not None and (kept.shape, kept.options) == (shape, frozen):
            _rebuilt(cls, kept)
            return
        original(cls, **options)
        if shape is not None:
            defn = _Definition.must_from_class(cls)
            fields = {
                f.name: getattr(defn, f.name)
                for f in dataclasses.fields(defn)
                if f.name not in _HANDLERS and f.name not in _READ
            }
            _validated.setdefault(key, _Validated(shape, frozen, fields))

    apply_to_class.kept_once = True  # type: ignore[attr-defined]
    return apply_to_class


@functools.cache
def install() -> bool:
    """Keep type hints and class definitions once read, once per process. False when this
    temporalio has not got the functions as expected (the SDK then reads them every time)."""
    original_hints = getattr(temporalio.common, "_type_hints_from_func", None)
    original_apply = (
        getattr(_Definition, "_apply_to_class", None) if _Definition is not None else None
    )
    if original_hints is None or original_apply is None:
        return False  # pragma: no cover - a temporalio release without them
    if not dataclasses.is_dataclass(_Definition) or not {*_HANDLERS, *_READ} <= {
        f.name for f in dataclasses.fields(_Definition)
    }:
        return False  # pragma: no cover - a definition of another shape
    setattr(temporalio.common, "_type_hints_from_func", _type_hints_once(original_hints))  # noqa: B010
    setattr(_Definition, "_apply_to_class", staticmethod(_apply_once(original_apply)))  # noqa: B010
    return True
