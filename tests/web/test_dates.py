"""One date formatter (web/dates.py): a period stored by its exclusive end instant is shown as
its inclusive last day, the same in the inbox row, on the task page and on the case page; the
filters' zh and en forms; and a timeline summary that embeds an end instant reads as a day."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from domain.calendar import SHANGHAI, deadline_end
from store.models import CaseEvent
from tests.system import System
from tests.web.test_inbox_pages import client_for, row
from web import dates, i18n


def test_filters_write_beijing_days_and_the_inclusive_last_day() -> None:
    end = datetime(2026, 12, 8, tzinfo=SHANGHAI)
    assert dates.last_day(end) == "2026-12-07"
    assert dates.last_day(end.astimezone(UTC)) == "2026-12-07"
    assert dates.last_day("2026-12-08T00:00:00+08:00") == "2026-12-07"  # as payloads keep it
    assert dates.last_day(date(2026, 12, 7)) == "2026-12-07"
    assert dates.last_day(None) == ""
    # An instant late in the UTC day is the next Beijing day.
    late = datetime(2026, 12, 7, 17, 30, tzinfo=UTC)
    assert dates.day(late) == "2026-12-08"
    assert dates.moment(late) == "2026-12-08 01:30"
    assert dates.moment(datetime(2026, 12, 7, 17, 30)) == "2026-12-08 01:30"  # naive is UTC
    assert dates.month(date(2026, 3, 31)) == "2026-03"
    with i18n.use_locale("zh-CN"):
        assert dates.day_words(date(2026, 12, 8)) == "12月8日"
        assert dates.day_span(date(2026, 12, 8), date(2026, 12, 10)) == "12月8日至12月10日"
        across = dates.day_span(date(2026, 12, 30), date(2027, 1, 4))
        assert across == "2026年12月30日至2027年1月4日"
    with i18n.use_locale("en"):
        assert dates.day_words(date(2026, 12, 8)) == "8 December"
        assert dates.day_span(date(2026, 12, 8), date(2026, 12, 10)) == "8–10 December"
        assert dates.day_span(date(2026, 11, 30), date(2026, 12, 2)) == "30 November – 2 December"


def dd_after(html: str, term: str) -> str:
    found = re.search(rf"<dt>{term}</dt><dd>(.*?)</dd>", html, re.S)
    assert found, term
    return found.group(1)


async def test_inbox_task_and_case_pages_show_the_same_last_day(system: System) -> None:
    region = await system.make_region()
    last = (datetime.now(UTC) + timedelta(days=20)).astimezone(SHANGHAI).date()
    [task_id] = await system.insert_tasks(
        region,
        [
            {
                "name": "甲同日",
                "due_at": deadline_end(last),
                "deadline_at": deadline_end(last + timedelta(days=5)),
            }
        ],
    )
    after = (last + timedelta(days=1)).isoformat()
    web = await client_for(system, region, "officer")
    inbox = row((await web.get("/inbox")).text, task_id)
    assert f'<time datetime="{last.isoformat()}">{last.isoformat()}</time>' in inbox
    task = (await web.get(f"/tasks/{task_id}")).text
    assert dd_after(task, "办理期限").startswith(last.isoformat())
    assert dd_after(task, "最迟期限") == (last + timedelta(days=5)).isoformat()
    assert after not in dd_after(task, "办理期限")  # the exclusive instant's day is not shown
    case = (await web.get(f"/cases/{region.case_id}")).text
    open_row = case.split("在办事项", 1)[1].split("</tr>", 2)[1]
    assert f"<td>{last.isoformat()}</td>" in open_row and after not in open_row
    await web.aclose()


async def test_a_timeline_end_instant_reads_as_its_last_day(system: System) -> None:
    # An event as the publicity writes it: the end instant is in the summary.
    region = await system.make_region()
    async with system.sessions()() as session, session.begin():
        session.add(
            CaseEvent(
                case_id=region.case_id,
                event_key=f"test-{region.n}/publicity",
                at=datetime(2026, 12, 7, 9, tzinfo=SHANGHAI),
                actor="system",
                kind="publicity",
                summary="公示开始（3个工作日，至2026-12-10T00:00:00+08:00）",
                before=None,
                after={"status": "in_publicity", "stage": "publicity"},
            )
        )
    web = await client_for(system, region, "officer")
    page = (await web.get(f"/cases/{region.case_id}")).text
    timeline = page.split('data-testid="timeline"', 1)[1]
    # web/timeline.py renders it, the end as its last day the way the inbox shows a due day.
    assert "公示开始（3个工作日，至2026-12-09）" in timeline
    assert "T00:00:00" not in timeline
    await web.aclose()
