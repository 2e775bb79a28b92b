"""Loading policy packs (政策包) from TOML, merging ``extends``, and pinning packs as JSON.

Packs ship as ``domain/policy/packs/<id>.toml`` (stdlib ``tomllib``; comments allowed). A pack
that ``extends`` another inherits what it does not define (merge rule in
:func:`merge_pack_data` and ``README.md``). Every pack is validated when it is loaded; a problem
raises :class:`PolicyPackError` whose lines name the file and the field
(``jilin-2022.toml: categories[2].when: all[0].fact: unknown fact path 'person.agee'``).
Packaged packs are cached; admin-uploaded files are read with :func:`load_pack_file`. A case
stores ``pack.to_json()`` and gets the very same pack back with :func:`pack_from_json`, which
verifies the content hash, so a later edit of the TOML never changes a running case.
"""

from __future__ import annotations

import copy
import json
import re
import tomllib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from domain.policy.model import CLOCK_NAMES, KEYED_SECTIONS, PolicyPack

__all__ = [
    "PACKS_DIR",
    "PolicyPackError",
    "UnknownPolicyPackError",
    "list_packs",
    "load_all",
    "load_pack",
    "load_pack_file",
    "merge_pack_data",
    "pack_from_json",
]

PACKS_DIR = Path(__file__).resolve().parent / "packs"


class PolicyPackError(ValueError):
    """A pack failed to load or validate. ``errors`` holds one ``field: message`` line each;
    ``str()`` prefixes every line with the file name."""

    def __init__(self, file: str, errors: list[str]) -> None:
        self.file = file
        self.errors = errors
        super().__init__("\n".join(f"{file}: {e}" for e in errors))


class UnknownPolicyPackError(PolicyPackError):
    """No pack with this id."""

    def __init__(self, pack_id: str, known: list[str], file: str | None = None) -> None:
        self.pack_id = pack_id
        self.known = known
        msg = f"unknown policy pack {pack_id!r}; known: {', '.join(known) or 'none'}"
        ValueError.__init__(self, f"{file}: extends: {msg}" if file else msg)
        self.file = file or ""
        self.errors = [f"extends: {msg}" if file else msg]


# Lists merged by the fact they are about, not by a code: [[facts]] by path, [[amounts]] by fact.
FACT_KEYED = {"facts": "path", "amounts": "fact"}


def validation_lines(error: ValidationError) -> list[str]:
    lines: list[str] = []
    for err in error.errors():
        loc = ""
        for part in err["loc"]:
            loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
        ctx = err.get("ctx") or {}
        msg = str(ctx["error"]) if "error" in ctx else err["msg"]
        for line in msg.split("\n"):
            # Model-level checks already put the field path in front of their message; the
            # procedure's name the stage (``stages[2].id``), which is then the path, so that
            # the problem gets that ``[[procedure.stages]]`` table's line.
            if loc == "procedure" and line.startswith("stages["):
                lines.append(f"{loc}.{line}")
            else:
                lines.append(f"{loc}: {line}" if loc else line)
    return lines


def _validate(data: Mapping[str, Any], file: str) -> PolicyPack:
    try:
        return PolicyPack.model_validate(data)
    except ValidationError as e:
        raise PolicyPackError(file, validation_lines(e)) from None


def merge_pack_data(
    parent: Mapping[str, Any], child: Mapping[str, Any], *, file: str = "<child>"
) -> dict[str, Any]:
    """Merge a child pack's raw data over its (already merged) parent's.

    - Top-level values and tables (``source``, ``identification``, ``procedure``,
      ``fraud_handling``, ``common_evidence``...) defined by the child replace the parent's
      whole: a procedure is one coherent sequence, never spliced.
    - ``clocks`` merge per clock: a clock the child defines replaces the parent's clock.
    - Keyed lists (``categories``, ``exclusions``, ``exit_reasons``, ``evidence``,
      ``base_conditions``, ``assistance_standards``, ``target_groups``, ``duties``) merge by
      ``code``: a child item with a parent's code replaces that item whole (in the parent's
      position); new codes are appended after the parent's.
    - ``transition`` (what a revision does to the persons already identified) is not
      inherited: the child says it, or it is absent.
    - ``drop = ["exit_reasons.not_eligible", "clocks.contact_check"]`` removes inherited items;
      dropping something the parent does not have is an error.
    """
    out: dict[str, Any] = copy.deepcopy(dict(parent))
    # What a revision does to the persons already identified is that revision's own word.
    out.pop("transition", None)
    for key, value in child.items():
        if key == "drop":
            continue
        if key in KEYED_SECTIONS and isinstance(value, list):
            merged = list(out.get(key, []))
            index = {item.get("code"): i for i, item in enumerate(merged) if isinstance(item, dict)}
            for item in value:
                code = item.get("code") if isinstance(item, dict) else None
                if code is not None and code in index:
                    merged[index[code]] = copy.deepcopy(item)
                else:
                    merged.append(copy.deepcopy(item))
            out[key] = merged
        elif key in FACT_KEYED and isinstance(value, list):
            # A child's fact (or amount) with a parent's path replaces it; new ones are
            # appended.
            facts = list(out.get(key, []))
            field = FACT_KEYED[key]
            at = {f.get(field): i for i, f in enumerate(facts) if isinstance(f, dict)}
            for item in value:
                path = item.get(field) if isinstance(item, dict) else None
                if path is not None and path in at:
                    facts[at[path]] = copy.deepcopy(item)
                else:
                    facts.append(copy.deepcopy(item))
            out[key] = facts
        elif key == "clocks" and isinstance(value, dict):
            out[key] = {**out.get("clocks", {}), **copy.deepcopy(value)}
        else:
            out[key] = copy.deepcopy(value)
    drops = child.get("drop", [])
    if not isinstance(drops, list):
        raise PolicyPackError(file, ["drop: must be a list of 'section.code' strings"])
    errors: list[str] = []
    for i, d in enumerate(drops):
        section, _, code = str(d).partition(".")
        if section in KEYED_SECTIONS:
            items = out.get(section, [])
            kept = [it for it in items if not (isinstance(it, dict) and it.get("code") == code)]
            if len(kept) == len(items):
                errors.append(f"drop[{i}]: the parent has no {section} item {code!r}")
            out[section] = kept
        elif section == "clocks" and code in CLOCK_NAMES:
            if code not in out.get("clocks", {}):
                errors.append(f"drop[{i}]: the parent has no clock {code!r}")
            out.get("clocks", {}).pop(code, None)
        else:
            errors.append(f"drop[{i}]: {d!r} is not 'section.code' of a keyed section or clock")
    if errors:
        raise PolicyPackError(file, errors)
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise PolicyPackError(path.name, ["file not found"]) from None
    except tomllib.TOMLDecodeError as e:
        raise PolicyPackError(path.name, [f"TOML syntax: {e}"]) from None


def _find(pack_id: str, dirs: tuple[Path, ...]) -> Path | None:
    for d in dirs:
        candidate = d / f"{pack_id}.toml"
        if candidate.is_file():
            return candidate
    return None


def _known(dirs: tuple[Path, ...]) -> list[str]:
    return sorted({p.stem for d in dirs if d.is_dir() for p in d.glob("*.toml")})


def _load(
    path: Path,
    dirs: tuple[Path, ...],
    chain: tuple[str, ...],
    *,
    check_id: bool,
    parents: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[PolicyPack, dict[str, Any]]:
    """Load one file, resolving ``extends`` in ``parents`` (merged packs by id: those in
    force in the running system), then in ``dirs``; returns the pack and its merged raw data
    (the input for a child's merge)."""
    file = path.name
    raw = _read_toml(path)
    pack_id = raw.get("id")
    if check_id and pack_id != path.stem:
        raise PolicyPackError(file, [f"id: {pack_id!r} does not match the file name"])
    parent_id = raw.get("extends")
    if parent_id is None:
        if "drop" in raw:
            raise PolicyPackError(file, ["drop: only a pack that extends another may drop"])
        merged = raw
    else:
        if not isinstance(parent_id, str):
            raise PolicyPackError(file, ["extends: must be a pack id"])
        if parent_id in chain or parent_id == pack_id:
            cycle = " → ".join((*chain, str(pack_id), parent_id))
            raise PolicyPackError(file, [f"extends: cycle {cycle}"])
        if parents is not None and parent_id in parents:
            # A pack in force (loaded, or packaged and perhaps revised since): its merged
            # data, as pinned, minus what only identifies that copy.
            parent_raw = {
                k: v for k, v in parents[parent_id].items() if k not in ("content_hash", "ref")
            }
        else:
            parent_path = _find(parent_id, dirs)
            if parent_path is None:
                known = sorted({*_known(dirs), *(parents or {})})
                raise UnknownPolicyPackError(parent_id, known, file=file)
            _, parent_raw = _load(parent_path, dirs, (*chain, str(pack_id)), check_id=True)
        merged = merge_pack_data(parent_raw, raw, file=file)
    try:
        return _validate(merged, file), merged
    except PolicyPackError as e:
        if parent_id is not None:
            raise  # the merged pack's positions are not the file's lines
        raise PolicyPackError(
            file, with_lines(e.errors, path.read_text(encoding="utf-8"))
        ) from None


_ITEM = re.compile(r"^(\w+(?:\.\w+)?)\[(\d+)\]")


def with_lines(errors: list[str], text: str) -> list[str]:
    """Each problem prefixed with the line of the item it is about: ``categories[2]...`` is
    the third ``[[categories]]`` table of the file, ``procedure.stages[1]`` the second
    ``[[procedure.stages]]``; a problem of a top-level field (or a table) gets the line of its
    key or header where there is one."""
    lines = text.splitlines()

    def line_of(predicate: Any, nth: int = 0) -> int | None:
        found = [n for n, line in enumerate(lines, start=1) if predicate(line.strip())]
        return found[nth] if nth < len(found) else None

    out = []
    for problem in errors:
        field = problem.split(":", 1)[0]
        at: int | None = None
        if m := _ITEM.match(field):
            header = f"[[{m.group(1)}]]"
            at = line_of(lambda line, h=header: line == h, int(m.group(2)))
        else:
            head = field.split(".", 1)[0].split("[", 1)[0]
            at = line_of(lambda line, k=head: line == f"[{k}]" or line.startswith(f"{k} ="))
        out.append(f"line {at}: {problem}" if at else problem)
    return out


def list_packs() -> list[str]:
    """Ids of the packaged packs, sorted."""
    return _known((PACKS_DIR,))


@cache
def load_pack(pack_id: str) -> PolicyPack:
    """The packaged pack ``pack_id`` (cached); :class:`UnknownPolicyPackError` if none."""
    path = _find(pack_id, (PACKS_DIR,))
    if path is None:
        raise UnknownPolicyPackError(pack_id, list_packs())
    return _load(path, (PACKS_DIR,), (), check_id=True)[0]


def load_all() -> dict[str, PolicyPack]:
    """Every packaged pack by id."""
    return {pack_id: load_pack(pack_id) for pack_id in list_packs()}


def load_pack_file(
    path: str | Path,
    *,
    check_id: bool = False,
    parents: Mapping[str, Mapping[str, Any]] | None = None,
) -> PolicyPack:
    """Validate and load a pack file (e.g. an administrator's upload). Its ``extends`` is
    resolved among ``parents`` first (the running system's packs in force, as
    :meth:`PolicyPack.to_json` data, by id), then next to the file, then among the packaged
    packs. ``check_id``: its id must be its file name (a pack loaded into the running
    system). Not cached."""
    p = Path(path)
    return _load(p, (p.resolve().parent, PACKS_DIR), (), check_id=check_id, parents=parents)[0]


def pack_from_json(data: Mapping[str, Any] | str) -> PolicyPack:
    """The pack from :meth:`PolicyPack.to_json` data (a pinned copy). ``extends`` is not
    resolved again (the data is already merged). If the data carries ``content_hash``, the
    rebuilt pack must have the same hash, so a tampered or mis-migrated copy is refused."""
    obj: dict[str, Any] = dict(json.loads(data) if isinstance(data, str) else data)
    expected = obj.pop("content_hash", None)
    obj.pop("ref", None)
    label = f"{obj.get('id', '<pack>')}.json"
    pack = _validate(obj, label)
    if expected is not None and expected != pack.content_hash:
        raise PolicyPackError(
            label,
            [f"content_hash: data hashes to {pack.content_hash}, not {expected}"],
        )
    return pack
