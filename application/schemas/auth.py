"""The bearer token a login gives (``POST /api/v1/auth/token``)."""

from __future__ import annotations

from pydantic import (
    BaseModel,
)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
