from tests.api.conftest import system  # noqa: F401  (the same whole system per database)
