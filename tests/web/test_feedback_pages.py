"""After a completion on the page (#21 item 4): the officer lands on an inbox that says what was
done and what follows (the publicity and its last day, the next task and who has it), with a
link to the case, in Chinese and English; the banner is built from the records (a reload says
the same, another user's task says nothing); the handled-cases view lists the case while it
waits on a clock, scoped like the inbox. Also the 已办结 filter on an open-only tab (the tab
follows it) and the header naming the office once."""

from __future__ import annotations

import html
from urllib.parse import parse_qs, urlsplit

from application.schemas.followup import NextStepOut
from store.models import Task
from tests.system import System
from tests.web.test_task_pages import hidden, jilin_initial_review, login
from web import inbox
from web.common import templates
from web.i18n import use_locale


async def test_completion_lands_on_feedback_and_the_case_waits_in_handled(
    system: System,
) -> None:
    case_id, task = await jilin_initial_review(system, "郑秀兰")
    web = await login(system, "jl_officer")
    url = f"/tasks/{task['id']}"
    page = (await web.get(url)).text
    data = {"csrf": hidden(page, "csrf"), "idempotency_key": hidden(page, "idempotency_key")}
    r = await web.post(url, data=data | {"outcome": "approve"})
    assert r.status_code == 303, r.text
    where = urlsplit(r.headers["location"])
    assert where.path == "/inbox"
    assert parse_qs(where.query) == {"done": ["completed"], "task": [task["id"]]}

    # The redirect came once the next step was recorded: the banner names it, not 正在生成.
    r = await web.get(r.headers["location"])
    assert r.status_code == 200
    text = html.unescape(r.text)
    assert 'data-testid="feedback" data-state="clock"' in text
    assert "已提交初审结果：通过" in text
    assert "下一步：进入公示，公示期至" in text
    assert f'href="/cases/{case_id}"' in text
    assert 'hx-get="/inbox/feedback' not in text  # nothing left to ask

    # In English, the same; and the case's timeline in English, the publicity's end as its
    # last day (the stored entry is Chinese and stays so).
    r = await web.get(f"/inbox?done=completed&task={task['id']}&lang=en")
    text = html.unescape(r.text)
    assert "Initial review submitted: Pass" in text, text[text.find("feedback") :][:600]
    assert "Next: publicity until" in text
    timeline = (await web.get(f"/cases/{case_id}")).text.split('data-testid="timeline"')[1]
    timeline = html.unescape(timeline.split("</table>")[0])
    assert "Application accepted" in timeline and "Publicity started (" in timeline
    assert "Initial review：Pass" in timeline or "Initial review: Pass" in timeline
    assert "受理申请" not in timeline and "T00:00:00" not in timeline
    await web.get("/inbox?lang=zh-CN")

    # Someone else's completion shows no banner (the token is not a message).
    other = await login(system, "jl_reviewer")
    r = await other.get(f"/inbox?done=completed&task={task['id']}")
    assert 'data-testid="feedback"' not in r.text

    # The handled-cases view: the case waits on the publicity, reached from the tabs.
    assert 'href="/inbox/handled"' in (await web.get("/inbox")).text
    r = await web.get("/inbox/handled")
    assert r.status_code == 200
    row = r.text[r.text.find(f'data-case-id="{case_id}"') :]
    assert row and 'data-state="clock"' in row[:200]
    assert "等待公示期满" in row.split("</tr>")[0] and "郑秀兰" in row.split("</tr>")[0]
    r = await other.get("/inbox/handled")
    assert r.status_code == 200 and f'data-case-id="{case_id}"' not in r.text
    r = await (await login(system, "wf_officer")).get("/inbox/handled")
    assert f'data-case-id="{case_id}"' not in r.text


async def test_feedback_while_the_next_task_is_opened(system: System) -> None:
    """After acceptance the next task is 初审 at the same street, in the officer's group: the
    banner names it and its due day; the inbox lists it (no empty inbox)."""
    case_id, task = await jilin_initial_review(system, "冯晓梅")
    web = await login(system, "jl_officer")
    # The acceptance was completed through the API by the same officer: its banner.
    r = await system.http.get(
        "/api/v1/tasks",
        headers=await system.login("jl_officer"),
        params={"state": "completed", "kind": "acceptance", "limit": 200},
    )
    [acceptance] = [t["id"] for t in r.json()["items"] if t["case_id"] == case_id]
    r = await web.get(f"/inbox?tab=group&done=completed&task={acceptance}")
    text = html.unescape(r.text)
    assert 'data-state="task"' in text
    assert "已提交受理查验结果：受理" in text
    lines = text[text.find("feedback-next") :][:400]
    assert "下一步：初审，由南岭街道基层经办人员办理，期限" in text, lines
    assert f'data-task-id="{task["id"]}"' in text
    # The banner alone (the page's poll while pending) answers the same; unknown: nothing.
    r = await web.get("/inbox/feedback", params={"task": acceptance})
    assert r.status_code == 200 and "已提交受理查验结果：受理" in html.unescape(r.text)
    assert "<html" not in r.text
    r = await web.get("/inbox/feedback", params={"task": "no-such-task"})
    assert r.status_code == 200 and r.text == ""


async def test_completed_filter_moves_an_open_only_tab_to_all(system: System) -> None:
    web = await login(system, "jl_officer")
    r = await web.get("/inbox?tab=group&state=completed")
    assert r.status_code == 200
    assert 'data-tab="scope" aria-current="page"' in r.text
    assert "此分类只列出未办结的事项" not in r.text


async def test_the_header_names_the_office_once(system: System) -> None:
    web = await login(system, "jl_officer")
    r = await web.get("/inbox")
    who = r.text[r.text.find('data-testid="who"') :].split("</span>")[0]
    assert who.count("南岭街道") == 1, who


def test_a_pending_banner_says_so_and_asks_again_a_bounded_number_of_times() -> None:
    """While the next step is being opened the banner says 下一步正在生成 (never zeros) and
    asks again; after FEEDBACK_TRIES it stops asking."""
    step = NextStepOut(
        state="pending",
        case_id="YZ1",
        case_url="/api/v1/cases/YZ1",
        case_page="/cases/YZ1",
        case_status="under_review",
    )
    task = Task(id="wf.initial_review.2", applicant_name="郑秀兰")
    template = templates.get_template("inbox/_feedback.html")
    context = {"FEEDBACK_POLL": inbox.FEEDBACK_POLL, "FEEDBACK_TRIES": inbox.FEEDBACK_TRIES}
    with use_locale("zh-CN"):
        lines = inbox.next_lines(step)
        assert lines == ["下一步正在生成，稍后将在此显示"]
        page = template.render(feedback=inbox.Feedback(task, "已提交", lines, step), **context)
    assert 'data-state="pending"' in page and "下一步正在生成" in page
    assert 'hx-get="/inbox/feedback?task=wf.initial_review.2&amp;n=0"' in page
    last = inbox.Feedback(task, "已提交", lines, step, tries=inbox.FEEDBACK_TRIES)
    with use_locale("zh-CN"):
        assert "hx-get" not in template.render(feedback=last, **context)
