"""Request and response schemas of admin (``/api/v1/...``): one home for the API's routes
and the web pages, which check a form with the same model the API checks its body with."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.text import clean_line

# What a user may be called and given, checked on the API's bodies and the pages' forms alike
# (application/services/admin.py applies the password rules themselves).
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 200  # the login form accepts no more
USERNAME_PATTERN = r"^[a-z0-9][a-z0-9_.\-]{1,63}$"
EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$"

RoleName = Literal["grassroots_officer", "county_reviewer", "supervisor", "admin"]

CODE = r"^[0-9]{6}$|^[0-9]{9}$|^[0-9]{12}$"


def _display_name(value: str) -> str:
    # domain/text.py's rule for every one-line text (no control, direction or invisible
    # characters), with this field's own word for empty.
    text = clean_line(value, 100)
    if not text:
        raise ValueError("the display name must not be empty")
    return text


def _email(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    if re.fullmatch(EMAIL_PATTERN, value) is None or any(ord(c) < 32 for c in value):
        raise ValueError("not an email address")
    return value


class UserOut(BaseModel):
    """A user as administrators see them (never a password or its hash)."""

    id: int
    username: str
    display_name: str
    role: str
    role_name: str = Field(description="The role in Chinese (基层经办人员, …)")
    email: str | None
    jurisdiction_code: str
    jurisdiction_name: str
    active: bool
    created_at: datetime


class UserPage(BaseModel):
    items: list[UserOut]
    next_cursor: str | None = Field(description="Pass back as `cursor`; null on the last page")


class UserCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(
        pattern=USERNAME_PATTERN,
        description="2–64 lower-case letters, digits, '.', '_', '-'",
    )
    display_name: str = Field(min_length=1, max_length=100)
    role: RoleName
    jurisdiction_code: str = Field(pattern=CODE, description="The place's division code")
    email: str | None = Field(default=None, max_length=200)
    password: str = Field(
        max_length=PASSWORD_MAX_LENGTH,
        description=f"At least {PASSWORD_MIN_LENGTH} characters, not the username",
    )

    _name = field_validator("display_name")(_display_name)
    _mail = field_validator("email")(_email)


class UserPatchIn(BaseModel):
    """Only the fields given change; ``email: null`` clears the address."""

    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    email: str | None = Field(default=None, max_length=200)
    role: RoleName | None = None
    jurisdiction_code: str | None = Field(default=None, pattern=CODE)
    active: bool | None = None

    @field_validator("display_name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else _display_name(value)

    _mail = field_validator("email")(_email)

    @field_validator("role", "jurisdiction_code", "active", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may be left out, but not null")
        return value


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(max_length=PASSWORD_MAX_LENGTH)


class JurisdictionNode(BaseModel):
    """A place with the places below it."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    level: str
    parent_code: str | None
    policy_pack_id: str | None = Field(description="The pack set at this place")
    effective_policy_pack_id: str | None = Field(
        description="The pack applying here (set here or inherited from above)"
    )
    user_count: int = Field(description="Users placed at this place")
    subtree_user_count: int = Field(description="Users at this place and below it")
    child_count: int = Field(description="Places directly below (also when not listed)")
    children: list[JurisdictionNode]


class PlaceRefOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    level: str


class JurisdictionOut(BaseModel):
    """One place, its ancestors (top first) and the places directly below it."""

    code: str
    name: str
    level: str
    parent_code: str | None
    path: str
    policy_pack_id: str | None
    effective_policy_pack_id: str | None
    user_count: int
    subtree_user_count: int
    ancestors: list[PlaceRefOut]
    children: list[JurisdictionNode]


class ImportOut(BaseModel):
    created: int
    renamed: int
    policy_changed: int = Field(description="Existing places given another policy pack")
    unchanged: int


class PolicyPackChangeOut(BaseModel):
    path: str
    kind: str = Field(description="added, removed or changed")
    before: Any = None
    after: Any = None


class PolicyPackLoadOut(BaseModel):
    """What loading a pack did (or, for a dry run, would do)."""

    pack_id: str
    ref: str = Field(description="The version loaded: id@version#hash12")
    effective_on: date = Field(
        description="Its first day (施行日期): the pack's effective_from, else the day it is loaded"
    )
    replaces: str | None = Field(
        description="The revision in force on that day before it; null: a new region"
    )
    cases_passed: int
    changes: list[PolicyPackChangeOut]
    places: int = Field(description="Places mapped to the pack's id, which run under it now")
    activated: bool = Field(description="false for a dry run: nothing was loaded")
    transition: Literal["move", "stay"] = Field(
        "stay",
        description="What the revision does to the persons already identified ([transition]): "
        "move them to its assistance rules from its first day, or leave them on theirs",
    )
    transition_source: str | None = Field(
        None, description="The clause that says so (the [transition]'s citation)"
    )
    transition_status: Literal["started", "pending"] | None = Field(
        None,
        description="For a load that moves persons: started (their assistances are told on "
        "the revision's first day), or pending (the workflow engine could not be reached; "
        "the worker starts it when it starts); null otherwise",
    )
