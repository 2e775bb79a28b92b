"""Request and response schemas of account (``/api/v1/...``): one home for the API's routes
and the web pages, which check a form with the same model the API checks its body with."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from application.schemas.admin import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH


class PlaceOut(BaseModel):
    code: str
    name: str
    level: str


class MeOut(BaseModel):
    """The caller's profile."""

    id: int
    username: str
    display_name: str
    role: str
    role_name: str = Field(description="The role in Chinese (基层经办人员, …)")
    email: str | None
    jurisdiction_code: str
    jurisdiction_name: str
    jurisdiction_level: str
    jurisdiction_path_names: str = Field(
        description="The places from the province down, e.g. 山东省 / 潍坊市 / 奎文区"
    )
    jurisdiction_chain: list[PlaceOut] = Field(description="The same places, top first")


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(max_length=PASSWORD_MAX_LENGTH)
    new_password: str = Field(
        max_length=PASSWORD_MAX_LENGTH,
        description=f"At least {PASSWORD_MIN_LENGTH} characters, not the username",
    )
