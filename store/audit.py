"""The audit log's one writer: who did or saw what, when. Every full view of a person's data
and every administrative act goes through :func:`record_audit`, so the log has one shape and
one place where entries are chained. The request boundary commits.

The log is append-only and tamper-evident. Entries form one chain in ``seq`` order (1, 2, 3,
… without gaps); each ``entry_hash`` is SHA-256 over a canonical serialisation of the entry's
fields and the previous entry's hash (:func:`chain_hash`), so changing, deleting or reordering
an entry breaks the chain at that entry, which :func:`verify_chain` (``yuanzhu audit verify``)
names. On both databases a trigger created by the migration refuses UPDATE and DELETE.

Appending happens when the transaction commits, not when :func:`record_audit` is called:

- the entries wait in the session and are chained in ``before_commit``, under a lock that
  serialises every writer of the chain (``pg_advisory_xact_lock`` on PostgreSQL, taken just
  before the commit so that it is held for the shortest time; on SQLite a write statement that
  takes the database's single write lock first), reading the last entry only once it is held;
- entries of a transaction (or savepoint) that rolls back are dropped with it: the act they
  record did not happen, and no sequence number or hash was spent on them, so the chain has no
  gap. The entries of every committed transaction are all in the chain.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from store.models import AuditEntry

# The prev_hash of the first entry.
GENESIS_HASH = "0" * 64
# pg_advisory_xact_lock key of the chain's tail ("YZAUDIT" in ASCII): one key for every process.
AUDIT_LOCK_KEY = 0x595A4155444954

_PENDING = "yuanzhu.audit.pending"
_LISTENING = "yuanzhu.audit.listening"


def _instant(at: datetime) -> str:
    # SQLite hands back naive UTC; both databases keep microseconds.
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def chain_hash(
    *,
    seq: int,
    at: datetime,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: str,
    detail: dict[str, Any] | None,
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of the entry's fields and the previous entry's hash, serialised as JSON
    with sorted keys and no whitespace: the same bytes whichever database the entry was read
    back from (the JSON column keeps what ``json`` can express; key order does not matter)."""
    canonical = json.dumps(
        {
            "seq": seq,
            "at": _instant(at),
            "actor_id": actor_id,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "detail": detail,
            "prev_hash": prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def hash_of(entry: AuditEntry) -> str:
    return chain_hash(
        seq=entry.seq,
        at=entry.at,
        actor_id=entry.actor_id,
        action=entry.action,
        object_type=entry.object_type,
        object_id=entry.object_id,
        detail=entry.detail,
        prev_hash=entry.prev_hash,
    )


def record_audit(
    session: AsyncSession,
    *,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: str,
    detail: dict[str, Any] | None,
    now: datetime,
) -> None:
    """Add an entry to the log when ``session``'s transaction commits (see the module's
    docstring); dropped if the transaction, or the savepoint it was recorded in, rolls back."""
    sync = session.sync_session
    if not sync.info.get(_LISTENING):
        event.listen(sync, "before_commit", _append_pending)
        event.listen(sync, "after_soft_rollback", _drop_rolled_back)
        sync.info[_LISTENING] = True
    # A JSON round trip now, so that the hash is computed over what the column will give back
    # (tuples become lists, keys strings) and a value JSON cannot hold fails here, at its caller.
    stored_detail = json.loads(json.dumps(detail, ensure_ascii=False))
    entry = AuditEntry(
        at=now,
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        detail=stored_detail,
    )
    if sync.get_transaction() is None:
        # Begin now, as any query would (no connection is taken yet), so that the entry belongs
        # to a transaction whose rollback drops it.
        sync.begin()
    recorded_in = sync.get_nested_transaction() or sync.get_transaction()
    sync.info.setdefault(_PENDING, []).append((recorded_in, entry))


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
    else:
        # SQLite begins its transaction lazily, at the first write: a write that changes
        # nothing takes the write lock now (waiting out the busy timeout like any write), so
        # that the last entry read next is still the last when ours are inserted.
        session.execute(text("UPDATE audit_log SET seq = seq WHERE 0 = 1"))


def _append_pending(session: Session) -> None:
    """``before_commit``: chain the transaction's entries onto the log's tail. A savepoint's
    commit leaves them waiting for the outermost commit."""
    if session.in_nested_transaction():
        return
    pending: list[tuple[SessionTransaction | None, AuditEntry]] = session.info.pop(_PENDING, [])
    if not pending:
        return
    _lock_chain(session)
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (last.seq, last.entry_hash) if last else (0, GENESIS_HASH)
    for _, entry in pending:
        seq += 1
        entry.seq = seq
        entry.prev_hash = prev_hash
        entry.entry_hash = prev_hash = hash_of(entry)
        session.add(entry)


def _within(transaction: SessionTransaction | None, ended: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ended:
            return True
        transaction = transaction.parent
    return False


def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """``after_soft_rollback``: forget the entries recorded in the transaction (or savepoint)
    that rolled back, and in the savepoints inside it."""
    pending = session.info.get(_PENDING)
    if not pending:
        return
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
        return
    session.info[_PENDING] = [
        (recorded_in, entry)
        for recorded_in, entry in pending
        if not _within(recorded_in, previous_transaction)
    ]


# --- verification ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainBreak:
    """The first entry at which the chain does not hold."""

    entry_id: int
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"audit log broken at entry id={self.entry_id} (seq {self.seq}): {self.problem}"


@dataclass(frozen=True)
class ChainReport:
    entries: int
    head_hash: str
    broken: ChainBreak | None

    @property
    def intact(self) -> bool:
        return self.broken is None


class ChainWalk:
    """Walks entries in ``seq`` order; the first that does not follow from the one before is
    the break. Deleted entries show as a gap in ``seq``; a changed field, or entries reordered
    by renumbering, as an entry whose content no longer gives its hash; an entry put in place
    of another as a ``prev_hash`` that is not the previous entry's hash."""

    def __init__(self) -> None:
        self.count = 0
        self.head_hash = GENESIS_HASH
        self.broken: ChainBreak | None = None

    def add(self, entry: AuditEntry) -> bool:
        """Check the next entry; False (and ``broken`` set) at the first break."""
        expected_seq = self.count + 1
        if entry.seq != expected_seq:
            problem = (
                f"entries seq {expected_seq}..{entry.seq - 1} are missing (deleted)"
                if entry.seq > expected_seq
                else f"seq {entry.seq} out of order (expected {expected_seq})"
            )
        elif entry.prev_hash != self.head_hash:
            problem = (
                f"prev_hash {entry.prev_hash[:16]}… is not the hash of the entry before it "
                f"({self.head_hash[:16]}…)"
            )
        elif (computed := hash_of(entry)) != entry.entry_hash:
            problem = (
                f"its fields (action={entry.action!r}, object {entry.object_type}:"
                f"{entry.object_id}) do not give its hash: stored {entry.entry_hash[:16]}…, "
                f"recomputed {computed[:16]}…; a field was changed after it was written"
            )
        else:
            self.count += 1
            self.head_hash = entry.entry_hash
            return True
        self.broken = ChainBreak(entry.id, entry.seq, problem)
        return False

    def report(self) -> ChainReport:
        return ChainReport(self.count, self.head_hash, self.broken)


async def verify_chain(session: AsyncSession, batch: int = 1000) -> ChainReport:
    """Check the whole log, reading it in ``seq`` order a batch at a time (the session forgets
    each batch once checked, so a long log does not fill memory)."""
    walk = ChainWalk()
    after: int | None = None  # no lower bound at first: a seq rewritten to 0 or below counts
    while True:
        query = select(AuditEntry).order_by(AuditEntry.seq).limit(batch)
        if after is not None:
            query = query.where(AuditEntry.seq > after)
        chunk = list((await session.scalars(query)).all())
        for entry in chunk:
            if not walk.add(entry):
                return walk.report()
        session.expunge_all()
        if len(chunk) < batch:
            return walk.report()
        after = chunk[-1].seq
