"""What a user may do, one module per resource. Services leave the commit to the request
boundary (:func:`application.http.get_session`), with the one exception below."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


async def release_before_workflow(session: AsyncSession) -> None:
    """Commit the request's writes so far, before starting, updating or signalling a workflow
    (or anything else that reads the database on its own connections).

    Two reasons, both about Temporal working while the request waits: the workflow's
    activities read what the request wrote (the case row, the batch, the year's table) from
    their own connections and would not see it uncommitted; and an update or a start can take
    seconds, during which the request must hold no connection from the pool, nor SQLite's write
    lock, which the activities it waits for need. The session stays usable: its next statement
    begins a new transaction, committed at the boundary as usual."""
    await session.commit()
