"""CLI commands for policy packs (政策包) and the eligibility pre-check (资格预审).

``yuanzhu policy list|show|validate|diff|test|check|new|facts|load`` and ``yuanzhu
eligibility``. Pure reads of the packaged packs (or of a pack file an administrator is
preparing), except ``new``, which writes a skeleton pack and its cases, and ``load``, which
puts a pack in force in the running system's database (application/services/policy_load.py).
Errors are one line per problem on stderr starting with ``error:`` and exit code 1; usage
errors are click's (exit code 2). ``--json`` output (and the eligibility decision, always JSON)
is a single JSON document on stdout.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Sequence
from contextlib import nullcontext
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

import click
from pydantic import ValidationError

from application.errors import Problem
from application.services import policy_load
from domain.eligibility import assess
from domain.facts import (
    ApplicantFacts,
    fact_catalogue,
    format_validation_error,
    sources_of,
    unit_of,
    verifiable,
)
from domain.policy import authoring, cases as pack_cases
from domain.policy.diff import diff_packs
from domain.policy.loader import (
    PolicyPackError,
    list_packs,
    load_pack,
    load_pack_file,
)
from domain.policy.model import PolicyPack
from store.db import session_scope
from store.policy_admin import (
    PACK_ID_PATTERN,
    RuleOutline,
    change_json,
    pack_listing,
    pack_outline,
)
from store.settings import Settings
from worker.cli_support import cli_user, settings_or_fail

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


def _rules(out: list[str], heading: str, rules: Sequence[RuleOutline]) -> None:
    """A section of rules, each ``code: 名称 / name (clause)``; nothing when it is empty."""
    if rules:
        out.append(f"{heading}:")
        out += [f"  - {r.code}: {r.name} / {r.name_en}  ({r.citation})" for r in rules]


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
    _rules(out, "基本条件 base conditions", o.base_conditions)
    if o.categories:
        out.append("认定类别 categories:")
        for c in o.categories:
            ev = f"  evidence: {', '.join(c.evidence)}" if c.evidence else ""
            out.append(f"  - {c.code}: {c.name} / {c.name_en}  ({c.citation}){ev}")
    _rules(out, "不予认定情形 exclusions", o.exclusions)
    if o.stages:
        out.append("认定程序 procedure:")
        for s in o.stages:
            extra = ""
            if s.working_days:
                at_least = "at least " if s.minimum else ""
                extra = f", {at_least}{s.working_days} working days"
            code = s.kind if s.id == s.kind else f"{s.id} ({s.kind})"
            out.append(
                f"  - {code}: {s.name} / {s.name_en} — {s.role} @ {s.level}, SLA "
                f"{s.sla.goal}/{s.sla.deadline} {s.sla.unit}{extra}  ({s.citation})"
            )
            if s.document:
                out.append(f"      produces 形成文书: {s.document}")
            if s.shows:
                out.append(f"      notice shows 公示内容: {', '.join(s.shows)}")
        again = o.reexamination
        if again is not None:
            out.append(
                f"  - after a refusal 不予认定后: {again.name} / {again.name_en} — the applicant "
                f"asks within {again.request_within} working days; {again.role} @ {again.level}, "
                f"SLA {again.sla.goal}/{again.sla.deadline} {again.sla.unit}  ({again.citation})"
            )
            if again.document:
                out.append(f"      produces 形成文书: {again.document}")
        else:
            out.append("  - after a refusal 不予认定后: no re-examination (the pack provides none)")
    if o.clocks:
        out.append("时限 clocks:")
        for clock in o.clocks:
            values = ", ".join(f"{k}={v}" for k, v in clock.values.items())
            out.append(f"  - {clock.name}: {values}  ({clock.citation})")
    _rules(out, "援助标准 assistance standards", o.assistance_standards)
    if o.exit_reasons:
        out.append("退出情形 exit reasons:")
        for r in o.exit_reasons:
            flags = [r.mode, "may re-apply" if r.may_reapply else "no re-application"]
            if r.fraud:
                flags.append("fraud")
            out.append(f"  - {r.code}: {r.name} / {r.name_en} [{', '.join(flags)}]  ({r.citation})")
    _rules(out, "援助对象 target groups", o.target_groups)
    if o.apply_at:
        out.append(f"受理 where to apply: {'、'.join(o.apply_at)}")
    if o.evidence:
        common = set(o.common_evidence)
        out.append("证明材料 evidence:")
        for e in o.evidence:
            flags = [
                flag
                for flag, on in (
                    ("every applicant", e.code in common),
                    ("data sharing replaces the paper", e.data_sharing_replaces_paper),
                    ("a written commitment may replace it", e.written_commitment_may_replace),
                )
                if on
            ]
            extra = f" [{', '.join(flags)}]" if flags else ""
            out.append(f"  - {e.code}: {e.name} / {e.name_en}{extra}  ({e.citation})")
    _rules(out, "零就业家庭 households", o.households)
    _rules(out, "工作职责 duties", o.duties)
    if o.fraud_handling:
        f = o.fraud_handling
        out.append(
            f"弄虚作假 fraud: recover subsidies {f.recover_subsidies} from {f.recover_from}, "
            f"credit record {f.credit_record}  ({f.citation})"
        )
    if o.ledger:
        out.append(f"台账 ledger: {o.ledger.layout}  ({o.ledger.citation})")
    if o.effective_from:
        out.append(f"施行日期 effective from: {o.effective_from.isoformat()}")
    if o.transition:
        persons = {
            "move": "move to this revision's assistance rules from its first day",
            "stay": "stay on the assistance rules they were identified under",
        }[o.transition.assistance]
        out.append(
            f"已认定人员 persons already identified: {o.transition.assistance} — {persons}"
            f"  ({o.transition.citation})"
        )
    if o.amounts:
        out.append("标准 amounts (the value in effect on the decision date):")
        for a in o.amounts:
            dated = ", ".join(f"{value:g} from {since.isoformat()}" for since, value in a.values)
            out.append(f"  - {a.fact}: {dated}  ({a.citation})")
    if o.facts:
        out.append("本地事项 the pack's own facts:")
        for fact in o.facts:
            how = [fact.type, *([fact.unit] if fact.unit else [])]
            how += [f"verified at {', '.join(fact.verified_at)}"] if fact.verified_at else []
            how += [] if fact.asked else ["not asked on the form"]
            out.append(
                f"  - {fact.path}: {fact.name} / {fact.name_en} [{'; '.join(how)}]"
                f"  ({fact.citation})"
            )
    if o.defaults:
        out.append("默认值 defaults (the pack is silent; the system applies):")
        out += [f"  - {d.path} = {d.value}: {d.why}" for d in o.defaults]
    return out


async def _load(
    settings: Settings, file_name: str, pack_text: str, cases_text: str, dry_run: bool
) -> policy_load.LoadPlan:
    async with session_scope(settings) as session:
        plan = await policy_load.plan_load(session, file_name, pack_text, cases_text)
        if not dry_run:
            await policy_load.activate(session, plan, actor_id=None, by=cli_user())
    return plan


async def _start_transition(settings: Settings, plan: policy_load.LoadPlan) -> str:
    """After the load is committed: start the move of the persons already identified."""
    from infra.temporal_client import connect

    try:
        client = await asyncio.wait_for(connect(settings), timeout=5)
    except Exception:
        client = None
    return await policy_load.start_transition(
        client, settings.temporal_task_queue, plan.pack, plan.effective_on
    )


def _check(file: Path, sources: list[Path], cases_file: str | None) -> tuple[list[str], list[str]]:
    """(errors, warnings) of ``yuanzhu policy check``."""
    try:
        pack = load_pack_file(file)
    except PolicyPackError as e:
        return str(e).split("\n"), []
    errors: list[str] = []
    warnings: list[str] = []
    if pack.id != file.stem:
        errors.append(f"{file.name}: id: {pack.id!r} does not match the file name")
    if sources:
        texts = [p.read_text(encoding="utf-8") for p in sources]
        named = pack.source.seed_file
        if named and named not in {p.name for p in sources}:
            warnings.append(f"source.seed_file: {named!r} is not among the --source files")
        for path, quote in authoring.quotes_not_in(pack, texts):
            errors.append(f"{file.name}: {path}.quote: not in the document: {quote!r}")
    else:
        warnings.append("quotes not checked: give the document with --source")
    for d in authoring.defaults_applying(pack):
        warnings.append(f"{d.path}: not set; {d.value} applies ({d.why})")
    where = Path(cases_file) if cases_file else pack_cases.cases_path(file)
    try:
        loaded = pack_cases.load_cases(where)
        pack_cases.check_cases(loaded, pack)
    except PolicyPackError as e:
        return errors + str(e).split("\n"), warnings
    return errors + pack_cases.failures(loaded, pack, pack_cases.run_cases(loaded, pack)), warnings


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

    @policy.command(name="check")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option(
        "--source",
        "sources",
        multiple=True,
        type=click.Path(dir_okay=False, exists=True),
        help="The document's text (UTF-8); repeat for a parent's document.",
    )
    @click.option("--cases", "cases_file", type=click.Path(dir_okay=False), help="Its cases file.")
    def check_cmd(file: str, sources: tuple[str, ...], cases_file: str | None) -> None:
        """Check a pack file as its author would before loading it: it validates, its id is
        its file name, every quote is the document's words (--source), its cases pass and
        cover every rule; and say every default its silence leaves. Exit 1 on any error."""
        errors, warnings = _check(Path(file), [Path(x) for x in sources], cases_file)
        for w in warnings:
            click.echo(f"warning: {w}")
        if errors:
            _fail(*errors)
        click.echo(f"ok: {_pack(file).ref}")

    @policy.command(name="new")
    @click.argument("pack_id")
    @click.option("--extends", "parent", default=None, help="The pack it refines (an id).")
    @click.option(
        "--region-code", default=None, help="GB/T 2260 prefix of its region (else the parent's)."
    )
    @click.option(
        "--dir",
        "where",
        type=click.Path(file_okay=False),
        default=".",
        help="Where to write PACK_ID.toml and cases/PACK_ID.toml.",
    )
    def new_cmd(pack_id: str, parent: str | None, region_code: str | None, where: str) -> None:
        """Start a new pack and its test cases from a skeleton that loads and passes, to be
        rewritten from the document clause by clause (docs/policy-authoring.md)."""
        if not re.fullmatch(PACK_ID_PATTERN, pack_id):
            _fail(f"{pack_id!r} is not a pack id (lower-case letters, digits and -)")
        if region_code is not None and not re.fullmatch(r"\d{2,6}", region_code):
            _fail(f"--region-code {region_code!r}: a GB/T 2260 prefix of 2 to 6 digits")
        parent_pack = _pack(parent) if parent else None
        pack_text, cases_text = authoring.skeleton(pack_id, parent, region_code)
        if parent_pack is not None:
            # The child inherits the parent's rules, so it starts from the parent's cases.
            inherited = pack_cases.packaged_cases_path(parent_pack.id)
            if inherited.is_file():
                cases_text = inherited.read_text(encoding="utf-8").replace(
                    f'pack = "{parent_pack.id}"', f'pack = "{pack_id}"', 1
                )
        target = Path(where) / f"{pack_id}.toml"
        cases_target = pack_cases.cases_path(target)
        for path in (target, cases_target):
            if path.exists():
                _fail(f"{path} exists; nothing written")
        cases_target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(pack_text, encoding="utf-8")
        cases_target.write_text(cases_text, encoding="utf-8")
        click.echo(f"wrote {target} and {cases_target}")
        click.echo(f"next: yuanzhu policy check {target} --source DOCUMENT.txt")

    @policy.command(name="facts")
    @click.argument("pack_ref", metavar="[ID|FILE]", required=False)
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    def facts_cmd(pack_ref: str | None, as_json: bool) -> None:
        """The fact catalogue: every fact a pack's predicates may read; with a pack, its own
        facts ([[facts]]) too, marked as the pack's."""
        pack = _pack(pack_ref) if pack_ref else None
        with pack.fact_scope() if pack is not None else nullcontext():
            own = {f.path for f in pack.facts} if pack is not None else set()
            stages = {v.fact: v.stages for v in verifiable()}
            rows: list[dict[str, Any]] = [
                {
                    "path": f.path,
                    "type": f.type,
                    "label_zh": f.label_zh,
                    "label_en": f.label_en,
                    "unit": unit_of(f.path)[0],
                    "choices": list(f.choices),
                    "derived_from": list(sources_of(f.path)) if f.derived else [],
                    "verified_at": sorted(stages.get(f.path, ())),
                    "pack": pack.id if pack is not None and f.path in own else None,
                }
                for f in fact_catalogue().values()
            ]
        if as_json:
            _dump(rows)
            return
        for r in rows:
            extra: list[str] = [str(r["type"])]
            if r["unit"]:
                extra.append(r["unit"])
            if r["choices"]:
                extra.append(" | ".join(r["choices"]))
            if r["derived_from"]:
                extra.append("derived from " + ", ".join(r["derived_from"]))
            if r["verified_at"]:
                extra.append("verified at " + ", ".join(r["verified_at"]))
            if r["pack"]:
                extra.append(f"{r['pack']}'s own")
            click.echo(f"{r['path']:<58} {r['label_zh']} / {r['label_en']}  ({'; '.join(extra)})")

    @policy.command(name="load")
    @click.argument("file", type=click.Path(dir_okay=False, exists=True))
    @click.option("--cases", "cases_file", type=click.Path(dir_okay=False), help="Its cases file.")
    @click.option("--dry-run", is_flag=True, help="Check and show the changes; load nothing.")
    def load_cmd(file: str, cases_file: str | None, dry_run: bool) -> None:
        """Load a pack into the running system without a deploy: validated, its test cases
        run (cases/FILE beside it, or --cases), the changes from the version in force shown,
        then put in force for the places mapped to its id (audited). Running cases keep the
        version they were opened under. Exit 1 when refused; nothing is loaded then."""
        path = Path(file)
        where = Path(cases_file) if cases_file else pack_cases.cases_path(path)
        if not where.is_file():
            _fail(f"{where}: no test cases: file not found")
        settings = settings_or_fail()
        try:
            plan = asyncio.run(
                _load(
                    settings,
                    path.name,
                    path.read_text(encoding="utf-8"),
                    where.read_text(encoding="utf-8"),
                    dry_run,
                )
            )
        except Problem as problem:
            errors = problem.extra.get("errors") or []
            _fail(*([e["message"] for e in errors] if errors else [problem.detail]))
        replaced = plan.replaces.ref if plan.replaces else "none (a new region)"
        click.echo(
            f"{plan.pack.ref}: {plan.passed} cases passed; from {plan.effective_on.isoformat()}, "
            f"replacing: {replaced}"
        )
        for c in plan.changes:
            click.echo(f"  {'+-~'[('added', 'removed', 'changed').index(c['kind'])]} {c['path']}")
        click.echo(f"places mapped to {plan.pack.id}: {plan.places}")
        if plan.moves_assistance:
            transition = plan.pack.transition
            assert transition is not None
            click.echo(
                "persons already identified move to its assistance rules from "
                f"{plan.effective_on.isoformat()} ({transition.citation})"
            )
        click.echo("dry run: nothing loaded" if dry_run else f"loaded: {plan.pack.ref} in force")
        moving = plan.moves_assistance and not dry_run
        if moving and asyncio.run(_start_transition(settings, plan)) == "pending":
            click.echo(
                f"warning: Temporal at {settings.temporal_address} is not reachable; the "
                "move starts when the worker starts",
                err=True,
            )

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
