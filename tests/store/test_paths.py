"""Jurisdiction paths compare as bytes on both databases: a subtree is a half-open string range
(``store.repos.path_range``), which a linguistic collation could break, so PostgreSQL's path
columns carry the "C" collation whatever the database's default."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

import store.models_calendar
import store.models_department
import store.models_inbox  # noqa: F401 - every table in the metadata
from store.base import Base
from store.settings import Settings

PATH_COLUMNS = sorted(
    (table.name, column.name)
    for table in Base.metadata.tables.values()
    for column in table.columns
    if column.name == "path" or column.name.endswith("_path")
)


def test_every_path_column_is_known() -> None:
    assert ("tasks", "jurisdiction_path") in PATH_COLUMNS
    assert ("jurisdictions", "path") in PATH_COLUMNS
    assert len(PATH_COLUMNS) >= 7


@pytest.mark.postgres
@pytest.mark.parametrize("migrated_settings", ["postgres"], indirect=True)
def test_postgres_path_columns_use_c_collation(migrated_settings: Settings) -> None:
    url = migrated_settings.effective_database_url
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT table_name, column_name, collation_name FROM "
                    "information_schema.columns WHERE table_schema = 'public'"
                )
            ).all()
    finally:
        engine.dispose()
    collation = {(t, c): coll for t, c, coll in rows}
    assert {col: collation[col] for col in PATH_COLUMNS} == {col: "C" for col in PATH_COLUMNS}
