"""Request and response schemas of outbound (``/api/v1/...``): one home for the API's routes
and the web pages, which check a form with the same model the API checks its body with."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from pydantic.config import JsonDict

from infra import mail as adapter

TLS_SCHEMA: JsonDict = {"enum": list(adapter.TLS_MODES)}


class OutboundSettingsOut(BaseModel):
    configured: bool = Field(description="Whether a setting has ever been stored")
    enabled: bool = Field(description="Whether notifications are e-mailed")
    host: str
    port: int
    sender: str = Field(description="The From address")
    tls: str = Field(json_schema_extra=TLS_SCHEMA, description="none | starttls | tls")
    username: str | None
    password_set: bool = Field(description="Whether a password is stored (it is never shown)")
    updated_at: datetime | None
    updated_by: str | None
    can_change: bool = Field(description="Whether you may change it (root administrators)")


class OutboundSettingsIn(BaseModel):
    """The whole setting (PUT replaces it). Checked by the same rules as the CLI: a host name
    or IP address (required when enabled), port 1..65535, an ASCII sender address, a TLS mode.
    """

    enabled: bool
    host: str = Field(default="", max_length=adapter.MAX_HOST, description="Relay host or IP")
    port: int = Field(
        default=25,
        # Documented here, checked by the shared rules (smtp_config_errors) like the CLI's.
        json_schema_extra={"minimum": 1, "maximum": 65535},
        description="1..65535 (25, 587 with starttls, 465 with tls)",
    )
    sender: str = Field(max_length=adapter.MAX_ADDRESS, description="From address")
    tls: str = Field(default="none", json_schema_extra=TLS_SCHEMA, description="TLS mode")
    username: str | None = Field(
        default=None, max_length=adapter.MAX_USERNAME, description="Login, if the relay needs one"
    )
    password: str | None = Field(
        default=None,
        max_length=adapter.MAX_PASSWORD,
        json_schema_extra={"writeOnly": True, "format": "password"},
        description='Write-only. Omitted or null: keep the stored one; "": remove it; '
        "otherwise: the new password",
    )


class OutboundTestIn(BaseModel):
    to: str = Field(max_length=adapter.MAX_ADDRESS, description="Where to send the test message")


class OutboundTestOut(BaseModel):
    sent: bool
    to: str
    host: str
    port: int
