"""Resident ID numbers: the GB 11643-1999 example, every error code, legacy conversion,
masking, and properties over generated numbers. Contact telephone numbers: the accepted forms
normalised, the rest refused in both languages, and masking."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, strategies as st

from domain.ids import (
    PROVINCE_CODES,
    PhoneNumberError,
    ResidentId,
    ResidentIdError,
    check_digit,
    completed_years,
    is_valid_resident_id,
    mask_id_number,
    mask_phone,
    parse_phone,
    parse_resident_id,
)

STANDARD_EXAMPLE = "11010519491231002X"  # GB 11643-1999, appendix example


def with_check(body17: str) -> str:
    return body17 + check_digit(body17)


def test_standard_example_is_valid_female_born_1949_12_31() -> None:
    rid = parse_resident_id(STANDARD_EXAMPLE)
    assert rid == ResidentId(
        number=STANDARD_EXAMPLE,
        region_code="110105",
        birth_date=date(1949, 12, 31),
        sex="female",
        was_legacy_15=False,
    )
    assert is_valid_resident_id(STANDARD_EXAMPLE)


def test_check_digit_examples() -> None:
    assert check_digit("11010519491231002") == "X"
    assert check_digit("37070219800101123") == "X"
    assert check_digit("37070219800101121") == "3"
    with pytest.raises(ValueError):
        check_digit("1234")
    with pytest.raises(ValueError):
        check_digit("1101051949123100X")


def test_lower_case_x_and_spaces_are_accepted() -> None:
    assert parse_resident_id(" 110105 19491231 002x ").number == STANDARD_EXAMPLE


def test_sex_from_17th_digit() -> None:
    assert parse_resident_id(with_check("37070219800101123")).sex == "male"
    assert parse_resident_id(with_check("37070219800101124")).sex == "female"


def test_legacy_15_digit_number_is_converted() -> None:
    rid = parse_resident_id("370702800101123")
    assert rid.number == with_check("37070219800101123")
    assert rid.was_legacy_15
    assert rid.birth_date == date(1980, 1, 1)
    assert rid.sex == "male"  # 15th digit 3 is odd
    assert parse_resident_id("370702800101124").sex == "female"


def expect_error(value: str, code: str, *, today: date | None = None) -> ResidentIdError:
    with pytest.raises(ResidentIdError) as info:
        parse_resident_id(value, today=today)
    assert info.value.code == code
    assert not is_valid_resident_id(value, today=today)
    assert str(info.value) == info.value.message
    assert info.value.message_zh
    return info.value


@pytest.mark.parametrize("value", ["", "   "])
def test_empty(value: str) -> None:
    err = expect_error(value, "empty")
    assert err.message_zh == "身份号码为空"


@pytest.mark.parametrize("value", ["1101051949123100", "11010519491231002X1", "123"])
def test_bad_length(value: str) -> None:
    err = expect_error(value, "bad_length")
    assert "15 or 18" in str(err)


@pytest.mark.parametrize(
    "value",
    [
        "1101051949123100X2",
        "11010519491231002Y",
        "11010A19491231002X",
        "37070280010112X",
        "１１０１０５１９４９１２３１００２Ｘ",
    ],
)
def test_bad_characters(value: str) -> None:
    expect_error(value, "bad_characters")


@pytest.mark.parametrize(
    "prefix", ["00", "10", "16", "20", "24", "30", "38", "47", "55", "60", "66", "72", "84", "99"]
)
def test_bad_region(prefix: str) -> None:
    err = expect_error(with_check(prefix + "010519491231002"), "bad_region")
    assert prefix in str(err)


@pytest.mark.parametrize("birth", ["19990230", "19991301", "19990000", "18991231", "20230229"])
def test_bad_birth_date(birth: str) -> None:
    err = expect_error(with_check("110105" + birth + "002"), "bad_birth_date")
    assert birth[:4] in str(err)


def test_bad_birth_date_legacy() -> None:
    expect_error("110105990230002", "bad_birth_date")


def test_leap_day_birth_is_fine() -> None:
    assert parse_resident_id(with_check("11010520000229002")).birth_date == date(2000, 2, 29)


def test_future_birth_date() -> None:
    number = with_check("11010520300101002")
    err = expect_error(number, "future_birth_date", today=date(2026, 1, 1))
    assert "2030-01-01" in str(err)
    # Without "today" nothing is known about the future.
    assert is_valid_resident_id(number)
    # Born today is not in the future.
    assert is_valid_resident_id(number, today=date(2030, 1, 1))


def test_bad_check_digit_messages() -> None:
    err = expect_error("110105194912310023", "bad_check_digit")
    assert str(err) == "check digit is 3 but should be X"
    assert err.message_zh == "校验码错误：应为X，实为3"


def test_masking_and_last_digits() -> None:
    rid = parse_resident_id(STANDARD_EXAMPLE)
    assert rid.masked() == "110***********002X"
    assert len(rid.masked()) == 18
    assert str(rid) == rid.masked()
    assert STANDARD_EXAMPLE not in repr(rid)
    assert rid.last_digits() == "002X"
    assert rid.last_digits(6) == "31002X"
    with pytest.raises(ValueError):
        rid.last_digits(0)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),  # the groups people say it in
        ("138-1234-5678", "13812345678"),
        (" 19912345678 ", "19912345678"),
        ("0536-1234567", "0536-1234567"),  # 潍坊: four-digit area code, 7-digit number
        ("05361234567", "0536-1234567"),  # split by the area-code rule
        ("0536 1234567", "0536-1234567"),
        ("0755-87654321", "0755-87654321"),
        ("010-12345678", "010-12345678"),  # 010 and 02x have three digits
        ("01012345678", "010-12345678"),
        ("02112345678", "021-12345678"),
        ("021-1234567", "021-1234567"),
    ],
)
def test_phone_numbers_are_normalised(typed: str, stored: str) -> None:
    assert parse_phone(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "12812345678",  # no 12x mobile range for people
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "１３８１２３４５６７８",  # full-width digits
        "+8613812345678",
        "5826809",  # a landline without its area code
        "0536-0234567",  # the number may not start with 0
        "053-61234567",  # a four-digit area code cut short
        "0536-123456",  # 6-digit number
        "0536-123456789",
        "0536--1234567",
        "0536-1234567-8",
        "电话13812345678",
    ],
)
def test_other_phone_numbers_are_refused_in_both_languages(typed: str) -> None:
    with pytest.raises(PhoneNumberError) as exc:
        parse_phone(typed)
    # One fixed message: a number typed is never echoed into a log.
    assert str(exc.value) == (
        "the telephone number must be a mobile number of 11 digits starting 13-19, or a "
        "landline with its area code such as 0536-1234567"
    )
    assert exc.value.message_zh == (
        "联系电话格式不正确：请填写以13-19开头的11位手机号码，或带区号的固定电话（如0536-1234567）"
    )


def test_empty_phone_number() -> None:
    with pytest.raises(PhoneNumberError, match="empty") as exc:
        parse_phone("  ")
    assert exc.value.message_zh == "联系电话为空"


def test_phone_masking_keeps_what_the_id_masking_keeps() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("0536-1234567") == "0536-***4567"
    assert mask_phone("010-12345678") == "010-****5678"
    # Rows stored before the check: never shown whole.
    assert mask_phone("5826809") == "*****09"
    assert mask_phone("123") == "***"
    # Like the ID number's, the masked form keeps the length (staff can tell a typo).
    assert len(mask_phone("13812345678")) == 11 and len(mask_id_number(STANDARD_EXAMPLE)) == 18


def test_age_on_counts_completed_years() -> None:
    rid = parse_resident_id(STANDARD_EXAMPLE)
    assert rid.age_on(date(2025, 12, 30)) == 75
    assert rid.age_on(date(2025, 12, 31)) == 76
    with pytest.raises(ValueError):
        rid.age_on(date(1949, 12, 30))


def test_leap_day_birthday_turns_older_on_1_march_in_common_years() -> None:
    born = date(2008, 2, 29)
    assert completed_years(born, date(2024, 2, 28)) == 15
    assert completed_years(born, date(2024, 2, 29)) == 16  # leap year: the real birthday
    assert completed_years(born, date(2025, 2, 28)) == 16
    assert completed_years(born, date(2025, 3, 1)) == 17
    assert completed_years(born, date(2026, 2, 28)) == 17
    assert completed_years(born, date(2026, 3, 1)) == 18


# -- properties ----------------------------------------------------------------------------

provinces = st.sampled_from(sorted(PROVINCE_CODES))
digits = st.text(alphabet="0123456789", min_size=1, max_size=1)


@st.composite
def bodies(draw: st.DrawFn, *, legacy: bool = False) -> tuple[str, date]:
    province = draw(provinces)
    rest = draw(st.integers(0, 9999))
    born = draw(st.dates(date(1900, 1, 1), date(1999, 12, 31) if legacy else date(2025, 12, 31)))
    seq = draw(st.integers(0, 999))
    birth = born.strftime("%y%m%d") if legacy else born.strftime("%Y%m%d")
    return f"{province}{rest:04d}{birth}{seq:03d}", born


@given(bodies())
def test_every_generated_body_with_its_check_digit_parses(body_and_birth: tuple[str, date]) -> None:
    body, born = body_and_birth
    rid = parse_resident_id(body + check_digit(body))
    assert rid.birth_date == born
    assert rid.number == body + check_digit(body)
    assert rid.sex == ("male" if int(body[16]) % 2 else "female")


@given(bodies(), st.integers(0, 17), st.sampled_from("0123456789X"))
def test_altering_any_single_character_invalidates(
    body_and_birth: tuple[str, date], position: int, replacement: str
) -> None:
    number = body_and_birth[0] + check_digit(body_and_birth[0])
    if replacement == number[position]:
        return
    altered = number[:position] + replacement + number[position + 1 :]
    assert not is_valid_resident_id(altered)


@given(bodies(legacy=True))
def test_legacy_conversion_round_trip_keeps_birth_date_and_sex(
    body_and_birth: tuple[str, date],
) -> None:
    legacy, born = body_and_birth
    old = parse_resident_id(legacy)
    assert old.was_legacy_15
    assert old.birth_date == born
    new = parse_resident_id(old.number)
    assert not new.was_legacy_15
    assert (new.birth_date, new.sex, new.region_code) == (old.birth_date, old.sex, old.region_code)
    # Dropping the century and the check digit gives back the 15-digit number.
    assert new.number[:6] + new.number[8:17] == legacy
