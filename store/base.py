"""Declarative base with a naming convention so that migrations name constraints the same way
on SQLite and PostgreSQL (Alembic needs stable names to drop or alter them later)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, Dialect, MetaData, String
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC. SQLite has no time zone type and SQLAlchemy would drop
    the offset silently; this converts to UTC on the way in (rejecting naive values) and
    attaches UTC on the way out, so both databases return the same instant."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Jurisdiction paths ("/000000/370000/…/") are compared as byte ranges (see
# ``store.repos.path_range``). A linguistic collation (en_US.UTF-8, zh_CN.UTF-8) may ignore the
# '/' separators and order "/37/" apart from its descendants, so on PostgreSQL the columns use
# the "C" collation whatever the database's default; SQLite already compares bytes.
PATH_LENGTH = 200


def PathString() -> String:
    return String(PATH_LENGTH).with_variant(String(PATH_LENGTH, collation="C"), "postgresql")
