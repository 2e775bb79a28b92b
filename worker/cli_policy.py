"""CLI commands for policy packs (政策包) and the eligibility pre-check (资格预审).

``yuanzhu policy list|show|validate|diff|test`` and ``yuanzhu eligibility``. Pure reads of the
packaged packs (or of a pack file an administrator is preparing); no database, no server.
Errors are one line per problem on stderr starting with ``error:`` and exit code 1; usage
errors are click's (exit code 2). ``--json`` output (and the eligibility decision, always JSON)
is a single JSON document on stdout.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

import click
from pydantic import ValidationError

from domain.eligibility import assess
from domain.facts import ApplicantFacts, format_validation_error
from domain.policy import cases as pack_cases
from domain.policy.diff import diff_packs
from domain.policy.loader import (
    PolicyPackError,
    list_packs,
    load_pack,
    load_pack_file,
)
from domain.policy.model import PolicyPack
from store.policy_admin import change_json, pack_listing, pack_outline

__all__ = ["register"]


def _fail(*messages: str) -> NoReturn:
    for m in messages:
        click.echo(f"error: {m}", err=True)
    raise SystemExit(1)


def _dump(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _pack(ref: str) -> PolicyPack:
    """A packaged pack by id, or a pack file when ``ref`` names an existing ``.toml`` file."""
    try:
        if ref.endswith(".toml") and Path(ref).is_file():
            return load_pack_file(ref)
        return load_pack(ref)
    except PolicyPackError as e:
        _fail(*str(e).split("\n"))


def _parse_date(text: str) -> date:
    # Exactly YYYY-MM-DD (date.fromisoformat would also take 20240101 and week dates).
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        _fail(f"{text!r} is not a valid date (YYYY-MM-DD)")


def _summary(p: PolicyPack) -> list[str]:
    """A readable bilingual summary of a pack, from the same outline as
    ``GET /api/v1/policy-packs/{id}`` (store.policy_admin.pack_outline)."""
    o = pack_outline(p)
    out = [
        f"{o.name}  [{o.ref}]",
        f"{o.name_en}",
        f"来源 source: {o.source.title} {o.source.number} ({o.source.issuer})",
    ]
    if o.extends:
        out.append(f"继承 extends: {o.extends}")
    out.append(f"认定 identification: {o.identification.mode}  ({o.identification.citation})")
    if o.base_conditions:
        out.append("基本条件 base conditions:")
        out += [f"  - {b.code}: {b.name} / {b.name_en}  ({b.citation})" for b in o.base_conditions]
    if o.categories:
        out.append("认定类别 categories:")
        for c in o.categories:
            ev = f"  evidence: {', '.join(c.evidence)}" if c.evidence else ""
            out.append(f"  - {c.code}: {c.name} / {c.name_en}  ({c.citation}){ev}")
    if o.exclusions:
        out.append("不予认定情形 exclusions:")
        out += [f"  - {x.code}: {x.name} / {x.name_en}  ({x.citation})" for x in o.exclusions]
    if o.stages:
        out.append("认定程序 procedure:")
        for s in o.stages:
            extra = f", {s.working_days} working days" if s.working_days else ""
            out.append(
                f"  - {s.kind}: {s.name} / {s.name_en} — {s.role} @ {s.level}, SLA "
                f"{s.sla.goal}/{s.sla.deadline} {s.sla.unit}{extra}  ({s.citation})"
            )
    if o.clocks:
        out.append("时限 clocks:")
        for clock in o.clocks:
            values = ", ".join(f"{k}={v}" for k, v in clock.values.items())
            out.append(f"  - {clock.name}: {values}  ({clock.citation})")
    if o.assistance_standards:
        out.append("援助标准 assistance standards:")
        out += [
            f"  - {a.code}: {a.name} / {a.name_en}  ({a.citation})" for a in o.assistance_standards
        ]
    if o.exit_reasons:
        out.append("退出情形 exit reasons:")
        for r in o.exit_reasons:
            flags = [r.mode, "may re-apply" if r.may_reapply else "no re-application"]
            if r.fraud:
                flags.append("fraud")
            out.append(f"  - {r.code}: {r.name} / {r.name_en} [{', '.join(flags)}]  ({r.citation})")
    if o.target_groups:
        out.append("援助对象 target groups:")
        out += [f"  - {g.code}: {g.name} / {g.name_en}  ({g.citation})" for g in o.target_groups]
    return out


def _run_pack_cases(pack: PolicyPack, where: Path) -> int:
    """Print one pack's cases as a table; the number of failures (cases and coverage gaps)."""
    try:
        loaded = pack_cases.load_cases(where)
        pack_cases.check_cases(loaded, pack)
    except PolicyPackError as e:
        for line in str(e).split("\n"):
            click.echo(f"error: {pack.id}: {line}", err=True)
        return 1
    results = pack_cases.run_cases(loaded, pack)
    gaps = pack_cases.coverage(loaded, pack)
    bad = [r for r in results if not r.passed]
    click.echo(f"{pack.id}  [{pack.ref}]  {where}")
    click.echo(f"  {'#':>3}  结果  {'rule':<44} {'expect':<13} {'got':<13} clause / case")
    for r in results:
        mark = "通过" if r.passed else "失败"
        rule = r.case.rule or f"verdict={r.case.verdict}"
        expect = r.case.expect or r.case.verdict or ""
        got = r.got if r.case.rule else r.verdict
        clause = r.case.clause or ""
        click.echo(f"  {r.index:>3}  {mark}  {rule:<44} {expect:<13} {got:<13} {clause}")
        click.echo(f"  {'':>3}        {r.case.name}")
        for problem in r.problems:
            click.echo(f"  {'':>3}        ✗ {loaded.where(r.index)}: {problem}")
    for gap in gaps:
        click.echo(f"  未覆盖 not covered: {gap}")
    click.echo(
        f"  {len(results) - len(bad)} passed, {len(bad)} failed, {len(gaps)} rules not covered"
    )
    return len(bad) + len(gaps)


def register(root: click.Group) -> None:
    """Add ``policy`` and ``eligibility`` to the root command group."""

    @root.group(name="policy")
    def policy() -> None:
        """Regional policy packs (地区政策包)."""

    @policy.command(name="list")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    def list_cmd(as_json: bool) -> None:
        """List the packaged policy packs."""
        ids = list_packs()
        if not as_json:
            for pack_id in ids:
                click.echo(pack_id)
            return
        rows = []
        for pack_id in ids:
            p = _pack(pack_id)
            # The API's listing (store.policy_admin), plus "hash", this command's older name
            # for content_hash.
            rows.append({**pack_listing(p).model_dump(mode="json"), "hash": p.content_hash})
        _dump(rows)

    @policy.command(name="show")
    @click.argument("pack_id")
    @click.option("--json", "as_json", is_flag=True, help="The full merged pack as JSON.")
    def show_cmd(pack_id: str, as_json: bool) -> None:
        """Show a pack (an id, or a .toml file)."""
        p = _pack(pack_id)
        if as_json:
            _dump(p.to_json())
        else:
            click.echo("\n".join(_summary(p)))

    @policy.command(name="validate")
    @click.argument("file", type=click.Path(dir_okay=False))
    def validate_cmd(file: str) -> None:
        """Validate a pack file; prints ``ok: <ref>``."""
        try:
            p = load_pack_file(file)
        except PolicyPackError as e:
            _fail(*str(e).split("\n"))
        click.echo(f"ok: {p.ref}")

    @policy.command(name="diff")
    @click.argument("a")
    @click.argument("b")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    def diff_cmd(a: str, b: str, as_json: bool) -> None:
        """Differences from pack A to pack B (ids or .toml files)."""
        changes = diff_packs(_pack(a), _pack(b))
        if as_json:
            _dump([change_json(c) for c in changes])
            return
        for c in changes:

            def show(v: Any) -> str:
                return json.dumps(v, ensure_ascii=False)

            if c.kind == "added":
                click.echo(f"+ {c.path}: {show(c.after)}")
            elif c.kind == "removed":
                click.echo(f"- {c.path}: {show(c.before)}")
            else:
                click.echo(f"~ {c.path}: {show(c.before)} → {show(c.after)}")

    @policy.command(name="test")
    @click.argument("ref", required=False)
    @click.option(
        "--cases", "cases_file", type=click.Path(dir_okay=False), help="Cases file to run."
    )
    def test_cmd(ref: str | None, cases_file: str | None) -> None:
        """Run a pack's test cases (every packaged pack's without REF; REF an id or a .toml
        file, whose cases are cases/<file name> beside it). Exit 1 on any failure."""
        if ref is None and cases_file:
            _fail("--cases needs the pack it tests (an id or a .toml file)")
        targets: list[tuple[PolicyPack, Path]] = []
        for one in [ref] if ref else list_packs():
            pack = _pack(one)
            if cases_file:
                where = Path(cases_file)
            elif one.endswith(".toml") and Path(one).is_file():
                where = pack_cases.cases_path(Path(one))
            else:
                where = pack_cases.packaged_cases_path(pack.id)
            targets.append((pack, where))
        failed = 0
        for pack, where in targets:
            failed += _run_pack_cases(pack, where)
        if failed:
            raise SystemExit(1)

    @root.command(name="eligibility")
    @click.option("--policy", "policy_id", required=True, help="Pack id (or a .toml file).")
    @click.option("--on", "on_text", required=True, help="Decision date, YYYY-MM-DD.")
    @click.argument("file")
    def eligibility_cmd(policy_id: str, on_text: str, file: str) -> None:
        """Pre-check applicant facts (JSON FILE, or - for stdin); prints the decision as JSON."""
        on = _parse_date(on_text)
        p = _pack(policy_id)
        label = "<stdin>" if file == "-" else file
        try:
            text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        except OSError as e:
            _fail(f"{label}: {e.strerror or e}")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            _fail(f"{label}: not valid JSON: {e.msg} (line {e.lineno})")
        try:
            facts = ApplicantFacts.model_validate(data)
        except ValidationError as e:
            _fail(*(f"{label}: {line}" for line in format_validation_error(e)))
        click.echo(assess(facts, p, on).model_dump_json(indent=2))
