"""The languages of the pages. zh-CN is the default and the source language: the msgids are the
Chinese words the seeds use (申请, 初审, 复核认定 ...), so a page reads right even where a catalog
is missing, and a Chinese label from the domain (a task kind's name, a problem's Chinese
message) translates through the same catalog. English comes from gettext catalogs,
``web/locale/en/LC_MESSAGES/*.po``: one file per area of the site (``base.po``, ``inbox.po``,
...), all merged, read with Babel at start (no compile step, nothing to forget to build).

The locale of a request comes from ``?lang=`` (which also sets the cookie) or the ``yz_lang``
cookie; never from Accept-Language, because office machines often run an English browser for
Chinese-speaking officers. It lives in a context variable set by :class:`LocaleMiddleware`, so
templates and Python code translate without passing it around.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from babel.messages.pofile import read_po

from domain import labels

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LOCALE = "zh-CN"
LOCALES = {"zh-CN": "中文", "en": "English"}
LANG_COOKIE = "yz_lang"
_CATALOG_DIRS = {"en": "en"}

_current: ContextVar[str] = ContextVar("yz_locale", default=DEFAULT_LOCALE)


def current_locale() -> str:
    return _current.get()


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    token = _current.set(locale if locale in LOCALES else DEFAULT_LOCALE)
    try:
        yield
    finally:
        _current.reset(token)


@cache
def catalog(locale: str) -> dict[str, str]:
    """msgid -> translation for ``locale`` from every ``.po`` of its directory; fuzzy and empty
    entries are left out (they would show a wrong or blank label)."""
    directory = _CATALOG_DIRS.get(locale)
    if directory is None:
        return {}
    messages: dict[str, str] = {}
    for path in sorted((LOCALE_DIR / directory / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as f:
            for message in read_po(f, locale=directory):
                msgid = message.id
                if isinstance(msgid, str) and msgid and message.string and not message.fuzzy:
                    messages[msgid] = str(message.string)
    return messages


def gettext(message: str) -> str:
    locale = _current.get()
    if locale == DEFAULT_LOCALE:
        return message
    return catalog(locale).get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    # Chinese has one form; the English catalog carries both as separate msgids.
    return gettext(singular if n == 1 else plural)


_ = gettext


def outcome_label(code: Any, task_kind: Any) -> str:
    """An outcome's name as the task of ``task_kind`` offers it, in the current language:
    the templates' ``outcome|outcome_label(task.kind)``."""
    return gettext(labels.outcome_label(task_kind, code))


def label(obj: Any, kind: str | None = None, default: str | None = None) -> str:
    """The name of ``obj`` in the current language, the templates' ``|label`` filter.

    With a ``kind`` (``task.kind|label("task_kind")``), ``obj`` is a domain code and its name
    is the catalogue's Chinese (domain/labels.py), translated as a msgid; an unnamed code shows
    as ``default`` or itself. Without one, ``obj`` is a pack object (category, material,
    condition, pack): packs carry ``name`` (the seed's Chinese) and ``name_en``."""
    if kind is not None:
        return gettext(labels.label(kind, obj, default))
    if _current.get() == "en":
        english = getattr(obj, "name_en", None)
        if english:
            return str(english)
    return str(getattr(obj, "name", obj))


def negotiate(query_string: bytes, cookie_header: str) -> tuple[str, bool]:
    """(locale, chosen_now): ``?lang=`` wins and is remembered in the cookie; then the cookie;
    then zh-CN."""
    asked = parse_qs(query_string.decode("latin-1")).get("lang", [""])[0]
    if asked in LOCALES:
        return asked, True
    for part in cookie_header.split(";"):
        name, _sep, value = part.strip().partition("=")
        if name == LANG_COOKIE and value in LOCALES:
            return value, False
    return DEFAULT_LOCALE, False


class LocaleMiddleware:
    """Sets the request's locale for the pages (the API speaks its own problem+json words)
    and remembers a ``?lang=`` choice in a cookie for a year."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        cookies = ";".join(
            v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"cookie"
        )
        locale, chosen = negotiate(scope.get("query_string", b""), cookies)

        async def send_with_cookie(message: Any) -> None:
            if chosen and message["type"] == "http.response.start":
                cookie = f"{LANG_COOKIE}={locale}; Path=/; Max-Age=31536000; SameSite=Lax"
                message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie.encode())]
            await send(message)

        with use_locale(locale):
            await self.app(scope, receive, send_with_cookie)
