"""The whole schema in one place: importing this module imports every model module, so
``Base.metadata`` holds every table (for migrations and for the tests that compare the
migrated database with the models). A new model module is added here."""

from __future__ import annotations

import store.models
import store.models_assistance
import store.models_calendar
import store.models_department
import store.models_enrolment
import store.models_household
import store.models_inbox
import store.models_ledger
import store.models_materials
import store.models_verification
from store.base import Base

metadata = Base.metadata

__all__ = [
    "metadata",
    "store",
]
