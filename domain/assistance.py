"""Pure rules of assistance and dynamic management (就业援助 / 动态管理): periods in months from
an instant, the refusal window (半年内拒绝3次), a standard's progress (counts of services
delivered against the pack's quotas), the cumulative subsidy period across identifications
(新余 第三条(二)) and the amount of subsidies to recover after a cancellation for fraud
(潍坊 五(四): 追回自其应注销资格次月起已发放的补贴资金).

No clock and no I/O: the workflow passes ``now`` and its own state, so it can call these inside
the sandbox; the API and the tests call the same functions. Money is in fen (分, integer), never
floats.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from domain.calendar import add_months_clamped, deadline_end, local_date

# --- periods -------------------------------------------------------------------------------


def months_after(instant: datetime, months: int) -> datetime:
    """The instant a period of ``months`` calendar months that starts at ``instant`` runs out:
    the end of the Shanghai day ``months`` months later (a 31st becomes the month's last day),
    the same convention as every other deadline of the system (:func:`deadline_end`)."""
    return deadline_end(add_months_clamped(local_date(instant), months))


def month_start(d: date) -> date:
    return d.replace(day=1)


def next_month(d: date) -> date:
    """The first day of the month after the month of ``d``."""
    return add_months_clamped(month_start(d), 1)


# --- re-identification ---------------------------------------------------------------------


def may_apply_from(exited_on: date, cooldown_months: int | None) -> date:
    """The first day a person who exited on ``exited_on`` may apply again (xinyu 第三条(二):
    自...资格被退出之日起满 3 个月的...可再次按程序申请); the exit day itself without a cooldown."""
    if not cooldown_months:
        return exited_on
    return add_months_clamped(exited_on, cooldown_months)


# --- refusals ------------------------------------------------------------------------------


def refusals_in_window(refusals: Iterable[date], window_months: int, on: date) -> int:
    """How many refusals fall in the ``window_months`` ending on ``on`` (a refusal exactly
    ``window_months`` before ``on`` is outside it: 半年内 is the half year before today)."""
    start = add_months_clamped(on, -window_months)
    return sum(1 for d in refusals if start < d <= on)


def refusal_limit_reached(
    refusals: Iterable[date], count: int, window_months: int, on: date
) -> bool:
    """True when at least ``count`` refusals fall in the window ending on ``on`` (jilin 三(五),
    xinyu 第三条(一)3: 半年内拒绝公共就业服务3次)."""
    return refusals_in_window(refusals, window_months, on) >= count


# --- service standards ---------------------------------------------------------------------


@dataclass(frozen=True)
class Quota:
    kind: str
    count: int


@dataclass(frozen=True)
class QuotaProgress:
    kind: str
    required: int
    delivered: int

    @property
    def missing(self) -> int:
        return max(0, self.required - self.delivered)


@dataclass(frozen=True)
class StandardProgress:
    """How far a standard with service quotas is met (xinyu "131": 1 guidance, 3
    recommendations, 1 training)."""

    code: str
    quotas: tuple[QuotaProgress, ...]

    @property
    def met(self) -> bool:
        return all(q.missing == 0 for q in self.quotas)

    @property
    def missing(self) -> dict[str, int]:
        return {q.kind: q.missing for q in self.quotas if q.missing}


def standard_progress(
    code: str, quotas: Sequence[Quota], delivered: Mapping[str, int]
) -> StandardProgress:
    """Counts of services delivered against a standard's quotas."""
    return StandardProgress(
        code=code,
        quotas=tuple(QuotaProgress(q.kind, q.count, delivered.get(q.kind, 0)) for q in quotas),
    )


# --- subsidies -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SubsidyGrant:
    """A subsidy granted for ``months`` consecutive months from ``start_month`` (its first day)
    at ``monthly_fen`` a month."""

    kind: str
    start_month: date
    months: int
    monthly_fen: int

    def month_list(self) -> list[date]:
        first = month_start(self.start_month)
        return [add_months_clamped(first, i) for i in range(self.months)]


def subsidy_months(grants: Iterable[SubsidyGrant]) -> int:
    """The subsidy period used, in months (every grant counts its months)."""
    return sum(g.months for g in grants)


def cap_exceeded(used_months: int, new_months: int, cap_months: int | None) -> bool:
    """Whether granting ``new_months`` more would take the cumulative period past the cap
    (xinyu 第三条(二): 累计享受的援助政策补贴期限不得超过援助政策规定的补贴期限)."""
    return cap_months is not None and used_months + new_months > cap_months


@dataclass(frozen=True)
class RecoveryLine:
    kind: str
    month: date
    amount_fen: int


@dataclass(frozen=True)
class Recovery:
    """What to recover after a cancellation for fraud: every month paid from ``from_month`` (the
    month after the one in which the status should have ended) to the month of the
    cancellation, when payments stopped."""

    should_have_ended_on: date
    cancelled_on: date
    from_month: date
    lines: tuple[RecoveryLine, ...] = field(default_factory=tuple)

    @property
    def total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)


def recovery(
    grants: Iterable[SubsidyGrant], should_have_ended_on: date, cancelled_on: date
) -> Recovery:
    """潍人社字〔2023〕1号 五(四): 应按规定追回自其应注销资格次月起已发放的补贴资金.

    A grant's month counts as paid ("已发放") when it is no later than the month of the
    cancellation (payments stop with the status). Recovered: the paid months from the month
    after the one in which the status should have ended. Worked example: a ¥1,000 monthly
    social-insurance subsidy from January 2025 for 12 months; the status should have ended on
    15 March 2025 and was cancelled on 10 June 2025: April, May and June are recovered,
    ¥3,000."""
    start = next_month(should_have_ended_on)
    last = month_start(cancelled_on)
    lines = [
        RecoveryLine(g.kind, m, g.monthly_fen)
        for g in grants
        for m in g.month_list()
        if start <= m <= last
    ]
    lines.sort(key=lambda line: (line.month, line.kind))
    return Recovery(should_have_ended_on, cancelled_on, start, tuple(lines))


def fen_to_yuan(fen: int) -> str:
    """¥ amount as officers write it: ``1500.00``."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"
