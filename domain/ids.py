"""Resident identity numbers (公民身份号码, GB 11643-1999) and telephone numbers (联系电话):
parsing, validation and masking.

An 18-character number is a 6-digit administrative region code, an 8-digit birth date
(YYYYMMDD), a 3-digit sequence code whose last digit gives the sex (odd male, even female) and
an ISO 7064 MOD 11-2 check character (0-9 or X). Legacy 15-digit numbers (issued before 1999)
have a 6-digit birth date (YYMMDD, always 19xx) and no check character; they are converted to
18 characters here so that the rest of the system only ever sees one form. Everything here is
pure: the caller passes "today" when a birth date must not lie in the future. Errors carry a
stable machine ``code`` plus an English and a Chinese message, so the API, the CLI and the web
forms can all explain the same problem without re-validating.

A contact telephone number (联系电话) is a mainland mobile number (11 digits, ``1[3-9]``) or a
landline with its area code (``0536-1234567``); :func:`parse_phone` normalises it and
:func:`mask_phone` hides its middle, the way :func:`mask_id_number` hides a birth date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

Sex = Literal["male", "female"]

ErrorCode = Literal[
    "empty",
    "bad_length",
    "bad_characters",
    "bad_region",
    "bad_birth_date",
    "future_birth_date",
    "bad_check_digit",
]

# ISO 7064 MOD 11-2 as specified in GB 11643-1999 §8.2: weight of position i is 2^(17-i) mod 11.
_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# Index = weighted sum mod 11; value = the check character that makes the full sum ≡ 1 (mod 11).
_CHECK_MAP: Final = "10X98765432"

# Province-level codes (GB/T 2260). We check only the first two digits: the full six-digit
# table changes every year and an outdated copy would reject genuine numbers of people whose
# county was merged or renamed after their number was issued.
PROVINCE_CODES: Final[frozenset[str]] = frozenset(
    [str(n) for n in range(11, 16)]
    + [str(n) for n in range(21, 24)]
    + [str(n) for n in range(31, 38)]
    + [str(n) for n in range(41, 47)]
    + [str(n) for n in range(50, 55)]
    + [str(n) for n in range(61, 66)]
    + ["71", "81", "82", "83"]
)

# No living applicant was born earlier; a date before this is almost certainly a typing error.
EARLIEST_BIRTH_DATE: Final = date(1900, 1, 1)

_WHITESPACE = re.compile(r"\s+")

# Mainland mobile numbers: 11 digits, 1 then 3-9 (the 12x/14x data and IoT ranges aside,
# every range issued to people starts 13-19).
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
# Landlines: area code 0 + 2-3 digits (010 and 02x have three digits in all, the rest four),
# then a 7- or 8-digit subscriber number that never starts with 0 (a 0 there is a second
# area code typed by mistake).
_LANDLINE = re.compile(r"(0[0-9]{2,3})-([1-9][0-9]{6,7})")
# ASCII digits only: re's \d would also take full-width ones (１３８...).
_DIGITS = re.compile(r"[0-9]+")


class ResidentIdError(ValueError):
    """A resident ID number is invalid. ``code`` is stable for machines; ``message_zh`` is for
    Chinese-language users; ``str(error)`` is the English message."""

    def __init__(self, code: ErrorCode, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message: str = message
        self.message_zh: str = message_zh


def mask_id_number(number: str) -> str:
    """An ID number for display and logs: first 3 and last 4 characters kept, the 11 between
    replaced by asterisks (``370***********123X``). The province stays visible to help staff
    route a case and the last four let a person recognise their own number, while the birth
    date is hidden. This is the one place that decides how a number is masked; it takes the
    stored string (no parsing, so a row from an older import masks too). Anything shorter
    than 18 characters is masked whole: it is not a number whose ends are safe to show."""
    if len(number) < 18:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


class PhoneNumberError(ValueError):
    """A contact telephone number is invalid: ``str(error)`` is the English message,
    ``message_zh`` the Chinese one (the form shows it next to the field)."""

    def __init__(self, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.message: str = message
        self.message_zh: str = message_zh


def parse_phone(value: str) -> str:
    """A contact telephone number in one form: a mobile number as its 11 digits
    (``13812345678``), a landline as area code, hyphen, number (``0536-1234567``).

    Spaces and hyphens typed between digit groups are ignored (``138 1234 5678``,
    ``0536 1234567``); a landline typed without the hyphen is split by the area-code rule
    (``010`` and ``02x`` have three digits, every other code four). Raises
    :class:`PhoneNumberError`."""
    text = _WHITESPACE.sub("", value)
    if not text:
        raise PhoneNumberError("the telephone number is empty", "联系电话为空")
    digits = text.replace("-", "")
    if _MOBILE.fullmatch(digits):
        return digits  # also 138-1234-5678: the groups people write mobile numbers in
    if _DIGITS.fullmatch(digits) and digits.startswith("0") and text.count("-") <= 1:
        area_len = 3 if digits[1] in "12" else 4
        area = text.split("-")[0] if "-" in text else digits[:area_len]
        match = _LANDLINE.fullmatch(f"{area}-{digits[len(area) :]}")
        if match and len(area) == area_len:
            return f"{match.group(1)}-{match.group(2)}"
    raise PhoneNumberError(
        # No echo of what was typed: a message may end up in a log, a number is personal data.
        "the telephone number must be a mobile number of 11 digits starting 13-19, or a "
        "landline with its area code such as 0536-1234567",
        "联系电话格式不正确：请填写以13-19开头的11位手机号码，或带区号的固定电话（如0536-1234567）",
    )


def mask_phone(number: str) -> str:
    """A telephone number for pages that show a masked ID number: a mobile number keeps its
    first 3 and last 4 digits (``138****5678``), a landline its area code and last 4
    (``0536-***4567``). Anything else (an older row) is masked whole except its last 2."""
    text = number.strip()
    if _MOBILE.fullmatch(text):
        return text[:3] + "****" + text[-4:]
    area, _sep, rest = text.partition("-")
    if _sep and _DIGITS.fullmatch(area) and _DIGITS.fullmatch(rest) and len(rest) > 4:
        return f"{area}-" + "*" * (len(rest) - 4) + rest[-4:]
    if len(text) <= 4:
        return "*" * len(text)
    return "*" * (len(text) - 2) + text[-2:]


def completed_years(birth_date: date, on: date) -> int:
    """Age in completed years on ``on``.

    A person born on 29 February becomes a year older on 1 March in non-leap years (the
    birthday has not been reached on 28 February), which is how Chinese administrative practice
    and most civil codes count it. Raises ValueError when ``on`` is before ``birth_date``.
    """
    if on < birth_date:
        raise ValueError(f"{on.isoformat()} is before the birth date {birth_date.isoformat()}")
    not_yet = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - int(not_yet)


@dataclass(frozen=True)
class ResidentId:
    """A validated resident ID number, always in the 18-character form with an upper-case X."""

    number: str
    region_code: str
    birth_date: date
    sex: Sex
    was_legacy_15: bool

    def age_on(self, d: date) -> int:
        """Completed years on ``d`` (29 February birthdays count on 1 March in non-leap years)."""
        return completed_years(self.birth_date, d)

    def masked(self) -> str:
        """The number for display and logs (see :func:`mask_id_number`)."""
        return mask_id_number(self.number)

    def last_digits(self, n: int = 4) -> str:
        """The last ``n`` characters (1..18), e.g. for "ID ending in 123X" confirmations."""
        if not 1 <= n <= len(self.number):
            raise ValueError(f"n must be between 1 and {len(self.number)}, got {n}")
        return self.number[-n:]

    def __str__(self) -> str:
        # Never print the full number by accident (f-strings, logs): masking is the default;
        # code that needs the number itself reads ``.number``.
        return self.masked()

    def __repr__(self) -> str:
        return (
            f"ResidentId(number={self.masked()!r}, region_code={self.region_code!r}, "
            f"birth_date={self.birth_date!r}, sex={self.sex!r}, "
            f"was_legacy_15={self.was_legacy_15!r})"
        )


def check_digit(first17: str) -> str:
    """The GB 11643-1999 check character (``0``-``9`` or ``X``) for a 17-digit body."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError(f"expected 17 digits, got {first17!r}")
    total = sum(int(ch) * w for ch, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_MAP[total % 11]


def _parse_birth_date(text: str, today: date | None) -> date:
    try:
        born = date(int(text[0:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        raise ResidentIdError(
            "bad_birth_date",
            f"birth date {text} is not a real date",
            f"出生日期码错误：{text}不是有效日期",
        ) from None
    if born < EARLIEST_BIRTH_DATE:
        raise ResidentIdError(
            "bad_birth_date",
            f"birth date {born.isoformat()} is before {EARLIEST_BIRTH_DATE.isoformat()}",
            f"出生日期码错误：{born.isoformat()}早于{EARLIEST_BIRTH_DATE.isoformat()}",
        )
    if today is not None and born > today:
        raise ResidentIdError(
            "future_birth_date",
            f"birth date {born.isoformat()} is in the future",
            f"出生日期码错误：{born.isoformat()}晚于今天",
        )
    return born


def parse_resident_id(value: str, *, today: date | None = None) -> ResidentId:
    """Validate and normalise a resident ID number (15 or 18 characters).

    Whitespace anywhere is removed (numbers are often typed in groups) and a lower-case ``x``
    is accepted. Checks, in order: empty, length, characters, province code, birth date
    (real, not before 1900, not after ``today`` when given) and, for 18-character numbers, the
    check character. A 15-digit legacy number is converted to 18 characters (century 19, the
    computed check character) with ``was_legacy_15=True``. Raises :class:`ResidentIdError`.
    """
    text = _WHITESPACE.sub("", value).upper()
    if not text:
        raise ResidentIdError("empty", "the ID number is empty", "身份号码为空")
    if len(text) not in (15, 18):
        raise ResidentIdError(
            "bad_length",
            f"the ID number must have 15 or 18 characters, not {len(text)}",
            f"身份号码长度错误：应为15位或18位，实为{len(text)}位",
        )
    legacy = len(text) == 15
    digits_part = text if legacy else text[:17]
    last_ok = legacy or text[17].isdigit() or text[17] == "X"
    if not (digits_part.isascii() and digits_part.isdigit() and last_ok):
        where = "all 15 characters" if legacy else "the first 17 characters"
        raise ResidentIdError(
            "bad_characters",
            f"{where} must be digits"
            + ("" if legacy else " and the last a digit or X")
            + f" (got {text!r})",
            "身份号码含有非法字符："
            + ("15位号码应全部为数字" if legacy else "前17位应为数字，末位为数字或X"),
        )
    region = text[:6]
    if region[:2] not in PROVINCE_CODES:
        raise ResidentIdError(
            "bad_region",
            f"region code {region} does not start with a valid province code",
            f"地址码错误：{region}的前两位不是有效的省级代码",
        )
    if legacy:
        born = _parse_birth_date("19" + text[6:12], today)
        body = region + born.strftime("%Y%m%d") + text[12:15]
        number = body + check_digit(body)
    else:
        born = _parse_birth_date(text[6:14], today)
        expected = check_digit(text[:17])
        if text[17] != expected:
            raise ResidentIdError(
                "bad_check_digit",
                f"check digit is {text[17]} but should be {expected}",
                f"校验码错误：应为{expected}，实为{text[17]}",
            )
        number = text
    # The sequence code's last digit: position 17 of 18 (index 16) == position 15 of 15.
    sex: Sex = "male" if int(number[16]) % 2 == 1 else "female"
    return ResidentId(
        number=number, region_code=region, birth_date=born, sex=sex, was_legacy_15=legacy
    )


def is_valid_resident_id(value: str, *, today: date | None = None) -> bool:
    """True iff :func:`parse_resident_id` accepts ``value``."""
    try:
        parse_resident_id(value, today=today)
    except ResidentIdError:
        return False
    return True
