"""A bound on every request body the application parses itself — JSON and form posts — so
that no request can carry a payload near Temporal's limits (2 MB a payload, 4 MB a gRPC
message) nor make the server parse megabytes (issue #20 §4): past :data:`MAX_BODY_BYTES` the
answer is 413 ``payload-too-large`` with a problem body, before the body is parsed. Uploads
(multipart, files) are read by their own routes within their own limits."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from application.errors import Problem, problem_response

# Far above any form or decision (a text field is at most 2,000 characters) and far below
# Temporal's limits.
MAX_BODY_BYTES = 256 * 1024
_BOUNDED_TYPES = ("application/json", "application/x-www-form-urlencoded")


def too_large(limit: int = MAX_BODY_BYTES) -> Problem:
    return Problem(
        413,
        "payload-too-large",
        "Payload too large",
        f"the request body is larger than {limit // 1024} KiB",
    )


class BodyLimit:
    """413 for a JSON or form body over ``limit`` bytes: by its Content-Length at once, and
    one sent without a length is read up to the limit before the route sees it."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if media not in _BOUNDED_TYPES and not media.endswith("+json"):
            await self.app(scope, receive, send)
            return
        declared = headers.get("content-length", "")
        if declared.isdigit():
            if int(declared) > self.limit:
                await problem_response(too_large(self.limit))(scope, receive, send)
                return
            await self.app(scope, receive, send)  # the server holds the body to its length
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.limit:
                await problem_response(too_large(self.limit))(scope, receive, send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)
