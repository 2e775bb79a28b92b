"""Who is acting: the authenticated user as the services see it (role and place), never the
ORM row, so that a service cannot write to the user by accident."""

from __future__ import annotations

from dataclasses import dataclass

from store.models import User


@dataclass(frozen=True)
class Actor:
    """The authenticated user, as the services see it."""

    id: int
    username: str
    display_name: str
    role: str
    jurisdiction_code: str
    jurisdiction_path: str

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(
            user.id,
            user.username,
            user.display_name,
            user.role,
            user.jurisdiction_code,
            user.jurisdiction_path,
        )
