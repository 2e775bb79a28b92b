"""The dashboard's assistance targets section (援助目标) without a browser (SQLite and
PostgreSQL): every number on the page is the API's (/api/v1/supervision/assistance, the same
service), the rate bars carry the target line and lead to the place's dashboard, the targets
say whether they are met, exits are listed by the pack's reasons, a drill-down outside the
supervisor's subtree is the 404 page, a period without data shows zeros and no verdicts, and
the section speaks English on request.

The data are the API tests' (:func:`tests.api.test_assistance_targets.targets_region`)."""

from __future__ import annotations

import re
from typing import Any

from tests.api.test_assistance_targets import WEIFANG, recent_span, targets_region
from tests.system import Region, System
from tests.web.test_dashboard_pages import Page, client
from web import dashboard, i18n

URL = "/api/v1/supervision/assistance"
COLS = ("persons", "assisted", "remaining", "cleared")


async def api(system: System, region: Region, user: str, **params: Any) -> Any:
    r = await system.http.get(URL, headers=region.headers[user], params=params)
    assert r.status_code == 200, r.text
    return r.json()


def section(html: str) -> str:
    """The assistance section of the dashboard alone."""
    found = re.search(r'<section id="assistance".*?</section>', html, flags=re.S)
    assert found, "no assistance section"
    return found.group(0)


def rate_text(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


async def test_the_page_shows_the_apis_figures(system: System) -> None:
    span = recent_span()
    region = await targets_region(system, span)
    codes = region.codes
    body = await api(system, region, "supervisor", **span.params)
    async with client(system, region, "supervisor") as web:
        r = await web.get("/dashboard", params=span.params)
    assert r.status_code == 200, r.text
    html = section(r.text)
    page = Page(html)

    shown = page.numbers("assistance")
    for row in body["rows"]:
        assert shown[row["code"]] == {c: row[c] for c in COLS}, row
        assert page.tables["assistance"][row["code"]]["rate"] == rate_text(row["rate"])
    assert shown["total"] == {c: body["total"][c] for c in COLS}
    assert shown["total"]["persons"] == 32

    # The rate bars: one per district, leading to its dashboard, with the 96 % line across.
    bars = page.charts["assistance-rate"]
    assert set(bars) == {f"测试county_a{region.n}", f"测试county_b{region.n}"}
    href = bars[f"测试county_a{region.n}"]["href"]
    assert href.startswith("/dashboard?") and f"jurisdiction={codes['county_a']}" in href
    # county_a misses its target (red); county_b meets it (green) at exactly 96 % of its
    # weifang people (the xinyu person is in the table's overall rate, not in the bar).
    assert bars[f"测试county_a{region.n}"]["segments"] == {"breached": round(4 / 6, 4)}
    assert bars[f"测试county_b{region.n}"]["segments"] == {"on_track": 0.96}
    assert html.count('data-target="96.0%"') == 2

    # Every target of every row, with its verdict.
    targets = page.tables["assistance-targets"]
    api_targets = {
        f"{row['code'] or 'total'}:{t['pack_id']}:{t['code']}": t
        for row in [*body["rows"], body["total"]]
        for t in row["targets"]
    }
    assert set(targets) == set(api_targets)
    verdict = {"met": "达标", "not_met": "未达标", "not_due": "期限未到", None: "无统计对象"}
    for key, t in api_targets.items():
        assert targets[key]["persons"] == str(t["persons"]), key
        assert targets[key]["met"] == verdict[t["state"]], key
    b_rate = targets[f"{codes['county_b']}:{WEIFANG}:assistance_rate"]
    assert (b_rate["value"], b_rate["met"]) == ("96.0%", "达标")

    # Exits by the packs' reasons, per district and in total.
    exits = page.numbers("assistance-exits")
    cols = [f"{c['pack_id']}:{c['code']}" for c in body["exit_reasons"]]
    assert list(exits) == cols
    for i, key in enumerate(cols):
        assert exits[key]["total"] == body["total"]["exits"][i]
        for row in body["rows"]:
            assert exits[key][row["code"]] == row["exits"][i]
    assert exits[f"{WEIFANG}:hired"]["total"] == 1
    assert page.charts["assistance-exits"]["被用人单位招用"]["segments"] == {"on_time": 1.0}


async def test_drill_down_and_scope(system: System) -> None:
    span = recent_span()
    region = await targets_region(system, span)
    codes = region.codes
    async with client(system, region, "supervisor") as web:
        r = await web.get("/dashboard", params={"jurisdiction": codes["county_a"], **span.params})
    assert r.status_code == 200, r.text
    page = Page(section(r.text))
    body = await api(system, region, "supervisor", jurisdiction=codes["county_a"], **span.params)
    shown = page.numbers("assistance")
    assert list(shown) == [*(row["code"] for row in body["rows"]), "total"]
    assert shown[codes["street_a1"]] == {"persons": 4, "assisted": 2, "remaining": 3, "cleared": 1}
    # The district office's own row is named as such and is no link.
    own = [t for t, _h in page.links if t.startswith(f"测试county_a{region.n}")]
    assert own == []

    async with client(system, region, "supervisor_b") as web:
        mine = await web.get("/dashboard", params=span.params)
        outside = await web.get("/dashboard", params={"jurisdiction": codes["county_a"]})
    assert mine.status_code == 200
    assert Page(section(mine.text)).numbers("assistance")["total"]["persons"] == 26
    assert outside.status_code == 404
    assert "assistance-rate" not in outside.text


async def test_a_period_without_data(system: System) -> None:
    region = await targets_region(system, recent_span())
    async with client(system, region, "supervisor") as web:
        r = await web.get("/dashboard", params={"from": "2001-01-01", "to": "2001-12-31"})
    assert r.status_code == 200, r.text
    # Nobody in assistance and no exits: the section is one line, no tables or charts of zeros.
    html = section(r.text)
    assert 'data-empty="true"' in html and "本期没有援助对象，也没有退出" in html
    page = Page(html)
    assert page.tables == {} and page.charts == {}


async def test_the_section_in_english(system: System) -> None:
    span = recent_span()
    region = await targets_region(system, span)
    async with client(system, region, "supervisor") as web:
        r = await web.get("/dashboard", params={**span.params, "lang": "en"})
    assert r.status_code == 200, r.text
    html = section(r.text)
    for text in ("Assistance targets", "Assistance rate (by place)", "hired by an employer"):
        assert text in html
    assert "not met" in html and "被用人单位招用" not in html
    english = i18n.catalog("en")
    labels = [
        *dashboard.RATE_TARGET_LEGEND.values(),
        *dashboard.CLEARANCE_LEGEND.values(),
        *dashboard.EXIT_LEGEND.values(),
    ]
    assert [label for label in labels if label not in english] == []


async def test_a_target_inside_its_window_is_not_missed(system: System) -> None:
    """A period that runs until today: a shortfall reads 期限未到 (amber), never 未达标."""
    span = recent_span()
    region = await targets_region(system, span)
    today = dashboard.local_date(dashboard.datetime.now(dashboard.UTC))
    async with client(system, region, "supervisor") as web:
        r = await web.get(
            "/dashboard", params={"from": span.first.isoformat(), "to": today.isoformat()}
        )
    assert r.status_code == 200, r.text
    page = Page(section(r.text))
    rows = page.tables["assistance-targets"]
    a = region.codes["county_a"]
    # The period's targets are not missed while it runs ...
    assert rows[f"{a}:{WEIFANG}:annual_clearance"]["met"] == "期限未到"
    assert rows[f"{a}:{WEIFANG}:assistance_rate"]["met"] == "期限未到"
    # ... but the zero-employment clearance runs a month per person: P5 has waited longer.
    assert rows[f"{a}:{WEIFANG}:zero_employment_dynamic_clearance"]["met"] == "未达标"
    bar = page.charts["assistance-rate"][f"测试county_a{region.n}"]
    assert set(bar["segments"]) == {"at_risk"}
