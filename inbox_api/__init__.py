"""The HTTP API (FastAPI) and the web pages mounted on it. ``create_app(settings,
temporal_client=None)`` builds the whole thing; services are the only code that calls the
Temporal client; one error handler writes RFC 9457 problem+json."""

from inbox_api.app import create_app

__all__ = ["create_app"]
