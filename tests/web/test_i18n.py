"""The pages speak Chinese by default and English on request, and nothing is left half
translated: every msgid in the templates and the pages' Python has an English translation,
every Chinese label the pages show from the domain has one too, no Chinese text sits in a
template outside ``_()`` (except the printable official documents, which are always in
Chinese), and placeholders survive translation."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from domain.labels import CATALOGUE
from web import common, i18n
from web.problems import FALLBACK_ZH, PROBLEM_ZH

WEB = Path(i18n.__file__).parent
TEMPLATES = WEB / "templates"
# Official documents handed to applicants print in Chinese whatever the officer's language.
ALWAYS_CHINESE = ("documents/",)
CJK = re.compile(r"[\u3400-\u9fff]")  # ideographs; full-width punctuation may stay
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def extracted() -> dict[str, str]:
    """msgid -> where it is used, from the templates (Jinja2) and the pages' Python."""
    found: dict[str, str] = {}
    method_map = [("templates/**.html", "jinja2"), ("**.py", "python")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        str(WEB),
        method_map=method_map,
        options_map=options,
        keywords={"_": None, "gettext": None, "ngettext": (1, 2)},
    ):
        for msgid in message if isinstance(message, tuple) else (message,):
            if msgid:
                found.setdefault(msgid, filename)
    return found


def test_every_msgid_has_an_english_translation() -> None:
    english = i18n.catalog("en")
    found = extracted()
    assert len(found) > 10  # the extraction itself works
    missing = {m: where for m, where in found.items() if m not in english}
    assert not missing, f"msgids without English (add them to web/locale/en/...): {missing}"


def test_every_domain_label_has_an_english_translation() -> None:
    # They reach the templates through the |label filter and LABELS, which the msgid
    # extraction cannot see.
    english = i18n.catalog("en")
    missing = [
        f"{kind}: {name}"
        for kind, names in CATALOGUE.items()
        for name in names.values()
        if name not in english
    ]
    problems = [*PROBLEM_ZH.values(), FALLBACK_ZH]
    assert missing + [name for name in problems if name not in english] == []


def test_the_label_filter_names_codes_in_the_readers_language() -> None:
    render = common.templates.env.from_string(
        '{{ "initial_review"|label("task_kind") }} {{ "nonsense"|label("task_kind") }} '
        '{{ none|label("sla_state") }}|{{ LABELS.task_state.open }}'
    ).render
    assert render() == "初审 nonsense |未办结"
    with i18n.use_locale("en"):
        assert render().startswith(i18n.catalog("en")["初审"] + " nonsense ")


def test_no_chinese_outside_gettext_in_templates() -> None:
    offenders: list[str] = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        rel = path.relative_to(TEMPLATES).as_posix()
        if rel.startswith(ALWAYS_CHINESE):
            continue
        text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", "", path.read_text(), flags=re.S)
        for lineno, line in enumerate(text.splitlines(), 1):
            if CJK.search(line):
                offenders.append(f"{rel}:{lineno}: {line.strip()[:60]}")
    assert offenders == [], "Chinese text outside _():\n" + "\n".join(offenders)


def test_catalogs_agree_and_keep_their_placeholders() -> None:
    seen: dict[str, tuple[str, str]] = {}
    clashes: list[str] = []
    for path in sorted((i18n.LOCALE_DIR / "en" / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as f:
            for message in read_po(f, locale="en"):
                if not message.id or not isinstance(message.id, str):
                    continue
                text = str(message.string)
                if PLACEHOLDER.findall(message.id) != PLACEHOLDER.findall(text):
                    clashes.append(f"{path.name}: placeholders differ in {message.id!r}")
                if message.id in seen and seen[message.id][1] != text:
                    clashes.append(f"{message.id!r}: {seen[message.id][0]} and {path.name} differ")
                seen.setdefault(message.id, (path.name, text))
    assert clashes == []


def test_gettext_follows_the_request_locale() -> None:
    assert i18n.gettext("待办") == "待办"
    with i18n.use_locale("en"):
        assert i18n.gettext("待办") == "Inbox"
        assert i18n.gettext("no such msgid") == "no such msgid"
    with i18n.use_locale("fr"):  # unknown: the default
        assert i18n.current_locale() == "zh-CN"


def test_locale_negotiation() -> None:
    assert i18n.negotiate(b"lang=en", "") == ("en", True)
    assert i18n.negotiate(b"", "a=b; yz_lang=en") == ("en", False)
    assert i18n.negotiate(b"lang=xx", "yz_lang=zz") == ("zh-CN", False)
