"""The timeline's entries in the reader's language (web/timeline.py): the system writes them
in Chinese and they stay so in the database; the page renders each known shape through the
catalogue, its values translated, the publicity's end as its inclusive last day (as the inbox
shows a due day); unknown text is shown as written."""

from __future__ import annotations

from web.i18n import use_locale
from web.timeline import timeline_text

PUBLICITY = "公示开始（3个工作日，至2026-12-10T00:00:00+08:00）"


def test_english_translates_the_system_entries() -> None:
    with use_locale("en"):
        assert timeline_text("受理申请") == "Application accepted"
        assert (
            timeline_text("公示期满，无未处理异议") == "Publicity ended with no objection pending"
        )
        # The end instant is 00:00 of the 10th: the publicity's last day is the 9th.
        assert timeline_text(PUBLICITY) == "Publicity started (3 working days, until 2026-12-09)"
        assert timeline_text("进入初审") == "Stage: Initial review"
        pre = "预审：符合条件；符合类别 大龄失业人员"
        assert timeline_text(pre).startswith("Pre-check: eligible; categories met: ")
        assert "；" not in timeline_text(pre)


def test_english_translates_the_newer_entries() -> None:
    with use_locale("en"):
        # The three-valued pre-check (an unknown fact is to verify, never "not met").
        assert timeline_text("预审：待核实") == "Pre-check: facts to verify"
        assert timeline_text("预审：不符合条件") == "Pre-check: not eligible"
        assert timeline_text("核实：不是零就业家庭") == "Verified: not a zero-employment household"
        assert timeline_text("定期审验（2026年第四季度）：已核实") == (
            "Periodic verification (2026年第四季度): verified"
        )
        assert timeline_text("经办人 赵经办（南岭街道） 核实：城镇户籍或城镇常住 = 是") == (
            "Officer 赵经办（南岭街道） verified: 城镇户籍或城镇常住 = 是"
        )
        assert timeline_text("退出就业援助：实现就业").startswith("Assistance ended: ")


def test_chinese_keeps_the_words_and_shows_the_last_day() -> None:
    with use_locale("zh-CN"):
        assert timeline_text("受理申请") == "受理申请"
        assert timeline_text(PUBLICITY) == "公示开始（3个工作日，至2026-12-09）"


def test_unknown_text_is_shown_as_written() -> None:
    with use_locale("en"):
        assert timeline_text("经办人手写的一条说明") == "经办人手写的一条说明"
        assert timeline_text("公示开始（3个工作日，至不是日期）") == (
            "Publicity started (3 working days, until 不是日期)"
        )
