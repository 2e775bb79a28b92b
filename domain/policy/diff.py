"""Differences between two policy packs (政策包版本差异), for the administrator's review of a new
version before it is published and for ``yuanzhu policy diff``.

:func:`diff_packs` compares the fully merged JSON forms. Lists of rules are matched by their
``code`` (stages by their id, which defaults to their ``kind``), so inserting a category shows
as one added category rather than every later category "changed"; a path reads
``categories[older_unemployed].when`` or ``procedure.stages[publicity].working_days``. Pure: no
I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from domain.policy.model import PolicyPack

__all__ = ["Change", "diff_data", "diff_packs"]


@dataclass(frozen=True)
class Change:
    """One difference: ``before`` is None for an addition, ``after`` None for a removal."""

    path: str
    before: Any
    after: Any

    @property
    def kind(self) -> Literal["added", "removed", "changed"]:
        if self.before is None:
            return "added"
        if self.after is None:
            return "removed"
        return "changed"


def _key_of(before: list[Any], after: list[Any]) -> str | None:
    """``code``, ``id`` or ``kind`` when every item of both lists has it and it is unique per
    list."""
    if not before and not after:
        return None
    for key in ("code", "id", "kind"):
        ok = True
        for items in (before, after):
            has_key = all(isinstance(i, dict) and key in i for i in items)
            if not has_key or len({i[key] for i in items}) != len(items):
                ok = False
        if ok:
            return key
    return None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def diff_data(before: Any, after: Any, path: str = "") -> list[Change]:
    """Differences between two JSON values (dicts recursively, keyed lists by key)."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[Change] = []
        for key in list(before) + [k for k in after if k not in before]:
            if key not in after:
                out.append(Change(_join(path, key), before[key], None))
            elif key not in before:
                out.append(Change(_join(path, key), None, after[key]))
            else:
                out.extend(diff_data(before[key], after[key], _join(path, key)))
        return out
    if isinstance(before, list) and isinstance(after, list):
        key = _key_of(before, after)
        if key is not None:
            b = {i[key]: i for i in before}
            a = {i[key]: i for i in after}
            out = []
            for k in list(b) + [k for k in a if k not in b]:
                sub = f"{path}[{k}]"
                if k not in a:
                    out.append(Change(sub, b[k], None))
                elif k not in b:
                    out.append(Change(sub, None, a[k]))
                else:
                    out.extend(diff_data(b[k], a[k], sub))
            return out
    if before != after:
        return [Change(path, before, after)]
    return []


def diff_packs(a: PolicyPack, b: PolicyPack) -> list[Change]:
    """What changes from pack ``a`` to pack ``b`` (both fully merged)."""

    def data(pack: PolicyPack) -> dict[str, Any]:
        out = pack.model_dump(mode="json")
        if pack.procedure is not None:
            # Stages are matched by their id (the kind where a pack names none), so that a
            # second review level shows as one added stage.
            dumped = out["procedure"]["stages"]
            for stage, item in zip(pack.procedure.stages, dumped, strict=True):
                item["id"] = stage.stage_id
        return out

    return diff_data(data(a), data(b))
