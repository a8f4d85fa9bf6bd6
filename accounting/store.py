"""Reads and writes of the controller's durable state.

Every function takes an open `Session` and never commits: the caller owns the transaction,
so a state change and the outbox message announcing it commit together or not at all:

    with factory() as s, s.begin():
        store.update_job(s, job_id, state="RUNNING", start_time=now)
        store.add_run(s, job_id, attempt, state="launching", nodes="n1")
        msg_id = store.enqueue(s, "n1", "launch", payload, job_id=job_id, attempt=attempt)

Writes go through Core statements (no ORM unit of work): they run when called, so constraint
violations surface at the call that caused them, and bulk paths stay fast.
"""

from __future__ import annotations

import functools

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, Insert, case, delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from accounting.bulk import insert_rows
from accounting.errors import AccountingError, JobNotFound, RunConflict, RunNotFound, UnknownColumnError
from accounting.models import (
    Base,
    ControllerMeta,
    Counter,
    Event,
    Job,
    JobRun,
    NodeRow,
    OutboxMessage,
    PartitionRow,
    Step,
)
from accounting.queries import query_accounting
from accounting.states import ACTIVE_JOB_STATES, RunState

__all__ = [
    "JOB_ID_COUNTER",
    "ActiveState",
    "add_event",
    "add_run",
    "allocate_job_ids",
    "delete_outbox",
    "enqueue",
    "find_jobs_by_idempotency_keys",
    "get_meta",
    "insert_jobs",
    "load_active",
    "query_accounting",
    "set_meta",
    "update_job",
    "update_run",
    "upsert_node",
    "upsert_partition_state",
    "upsert_step",
    "step_ids",
    "running_steps",
]

JOB_ID_COUNTER = "job_id"

# Keeps IN lists well under SQLite's and PostgreSQL's bound-parameter limits.
_IN_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class ActiveState:
    """What the controller loads at start-up to rebuild its in-memory mirror."""

    jobs: list[Job]
    runs: list[JobRun]  # runs not yet ended
    outbox: list[OutboxMessage]  # ordered by msg_id: send order
    nodes: list[NodeRow]
    partitions: list[PartitionRow]


# ---------------------------------------------------------------------------------------- jobs


def allocate_job_ids(session: Session, count: int, first_job_id: int = 1) -> list[int]:
    """Reserve `count` consecutive, never-before-used job ids.

    One UPDATE ... RETURNING on the counter row: on PostgreSQL the row lock makes concurrent
    controllers queue on it and each sees the value the previous one committed; on SQLite the
    engine's BEGIN IMMEDIATE already serializes writers. Ids handed out and then lost to a
    rolled-back transaction are skipped, never reused. Raising FirstJobId later takes effect;
    lowering it never moves the counter back.
    """
    if count < 0:
        raise AccountingError(f"cannot allocate {count} job ids")
    if count == 0:
        return []
    counters = Counter.__table__
    bump = (
        update(counters)
        .where(counters.c.name == JOB_ID_COUNTER)
        .values(value=case((counters.c.value >= first_job_id, counters.c.value), else_=first_job_id) + count)
        .returning(counters.c.value)
    )
    next_free = session.execute(bump).scalar_one_or_none()
    if next_free is None:
        # RETURNING, not rowcount: SQLAlchemy reports -1 for single-row inserts on psycopg
        create = (
            _dialect_insert(session, counters)
            .values(name=JOB_ID_COUNTER, value=first_job_id + count)
            .on_conflict_do_nothing(index_elements=["name"])
            .returning(counters.c.value)
        )
        if session.execute(create).scalar_one_or_none() is not None:
            return list(range(first_job_id, first_job_id + count))
        # another transaction created it first (and has committed by now): bump it instead
        next_free = session.execute(bump).scalar_one()
    return list(range(next_free - count, next_free))


def find_jobs_by_idempotency_keys(session: Session, keys: Iterable[str]) -> dict[str, int]:
    """The job id already submitted under each known key; unknown keys are absent."""
    wanted = list(dict.fromkeys(keys))
    found: dict[str, int] = {}
    for chunk in _chunks(wanted):
        rows = session.execute(select(Job.idempotency_key, Job.job_id).where(Job.idempotency_key.in_(chunk)))
        found.update({key: job_id for key, job_id in rows if key is not None})
    return found


def insert_jobs(session: Session, rows: list[dict[str, Any]]) -> None:
    """Bulk insert of Job column dicts; missing columns take their defaults (see accounting.bulk)."""
    keys: set[str] = set()
    for row in rows:
        keys.update(row)
    _check_columns(Job, keys)
    insert_rows(session, Job.__table__, rows)


@functools.lru_cache(maxsize=512)
def _keyed_update(table_name: str, key: tuple[str, ...], columns: tuple[str, ...]) -> Any:
    """One reusable UPDATE per (table, key, columns): the controller runs the same few shapes
    thousands of times, and building and caching a fresh statement each time costs more than
    the database's own work."""
    table = Base.metadata.tables[table_name]
    return (update(table).where(*(table.c[k] == bindparam("_key_" + k) for k in key))
            .values({c: bindparam(c) for c in columns}))


def _run_keyed_update(session: Session, model: type, key: Mapping[str, Any], values: Mapping[str, Any]) -> int:
    columns = tuple(sorted(values))
    _check_columns_cached(model, columns)
    stmt = _keyed_update(model.__table__.name, tuple(key), columns)  # type: ignore[attr-defined]
    params = {"_key_" + k: v for k, v in key.items()}
    params.update(values)
    return session.connection().execute(stmt, params).rowcount


def update_job(session: Session, job_id: int, **values: Any) -> None:
    if not values:
        return
    if _run_keyed_update(session, Job, {"job_id": job_id}, values) == 0:
        raise JobNotFound(f"Invalid job id specified: job {job_id} has no row")


def update_jobs(session: Session, changes: list[dict[str, Any]]) -> None:
    """Many job updates in few statements (executemany). Each dict holds `job_id` and the
    columns to set; dicts setting the same columns share one statement."""
    table = Job.__table__
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for change in changes:
        columns = tuple(sorted(k for k in change if k != "job_id"))
        groups.setdefault(columns, []).append(change)
    for columns, rows in groups.items():
        if not columns:
            continue
        _check_columns(Job, columns)
        stmt = (update(table).where(table.c.job_id == bindparam("_job_id"))
                .values({c: bindparam(c) for c in columns}))
        session.connection().execute(stmt, [{"_job_id": r["job_id"], **{c: r[c] for c in columns}} for r in rows])


def job_outcomes(session: Session, job_ids: Iterable[int]) -> dict[int, tuple[str, float | None, int]]:
    """(state, start_time, exit_code) of each known job: what dependencies need of old jobs."""
    wanted = sorted(set(job_ids))
    found: dict[int, tuple[str, float | None, int]] = {}
    for chunk in _chunks(wanted):
        rows = session.execute(select(Job.job_id, Job.state, Job.start_time, Job.exit_code)
                               .where(Job.job_id.in_(chunk)))
        found.update({job_id: (state, start, exit_code or 0) for job_id, state, start, exit_code in rows})
        # an array id stands for all of its tasks: done when all are, failed when one failed
        tasks = session.execute(select(Job.array_job_id, Job.state, Job.start_time, Job.exit_code)
                                .where(Job.array_job_id.in_(chunk)).order_by(Job.job_id))
        by_array: dict[int, list[tuple[str, float | None, int]]] = {}
        for array_id, state, start, exit_code in tasks:
            by_array.setdefault(array_id, []).append((state, start, exit_code or 0))
        for array_id, outcomes in by_array.items():
            starts = [start for _, start, _ in outcomes if start is not None]
            first = min(starts) if starts else None
            active = [state for state, _, _ in outcomes if state in ACTIVE_JOB_STATES]
            failed = [(state, code) for state, _, code in outcomes if state != "COMPLETED" or code]
            if active:
                found[array_id] = (active[0], first, 0)
            elif failed:
                found[array_id] = (failed[0][0], first, failed[0][1] or 1)
            else:
                found[array_id] = ("COMPLETED", first, 0)
    return found


def add_events(session: Session, events: list[dict[str, Any]]) -> None:
    """Insert many events ({job_id, kind, time, detail}) in one executemany."""
    if events:
        session.connection().execute(insert(Event.__table__), events)


def load_active(session: Session, finished_since: float) -> ActiveState:
    """Jobs that can still change plus those finished at or after `finished_since`."""
    job_filter = or_(Job.state.in_(sorted(ACTIVE_JOB_STATES)), Job.end_time >= finished_since)
    return ActiveState(
        jobs=list(session.scalars(select(Job).where(job_filter).order_by(Job.job_id))),
        runs=list(
            session.scalars(
                select(JobRun).where(JobRun.state != RunState.ENDED).order_by(JobRun.job_id, JobRun.attempt)
            )
        ),
        outbox=list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.msg_id))),
        nodes=list(session.scalars(select(NodeRow).order_by(NodeRow.name))),
        partitions=list(session.scalars(select(PartitionRow).order_by(PartitionRow.name))),
    )


# ---------------------------------------------------------------------------------- runs, steps


def add_run(session: Session, job_id: int, attempt: int, **values: Any) -> None:
    """Insert attempt `attempt`; RunConflict if the job already has an active run (or this attempt).

    The insert runs in a SAVEPOINT so that, on PostgreSQL, the caller's transaction survives
    the refusal and can go on (e.g. drop this start and try the next job).
    """
    _check_columns(JobRun, values)
    statement = insert(JobRun.__table__).values(job_id=job_id, attempt=attempt, **values)
    _execute_run_write(session, statement, job_id, attempt)


def update_run(session: Session, job_id: int, attempt: int, **values: Any) -> None:
    if not values:
        return
    _check_columns(JobRun, values)
    runs = JobRun.__table__
    if "state" in values and values["state"] != RunState.ENDED:
        # re-activating an ended run can hit the unique index: guard it with a savepoint
        statement = update(runs).where(runs.c.job_id == job_id, runs.c.attempt == attempt).values(**values)
        rowcount = _execute_run_write(session, statement, job_id, attempt)
    else:
        rowcount = _run_keyed_update(session, JobRun, {"job_id": job_id, "attempt": attempt}, values)
    if rowcount == 0:
        raise RunNotFound(f"job {job_id} has no attempt {attempt}")


def upsert_step(session: Session, job_id: int, attempt: int, step_id: str, **values: Any) -> None:
    _upsert(session, Step, {"job_id": job_id, "attempt": attempt, "step_id": step_id}, values)


def running_steps(session: Session) -> list[Step]:
    """Steps recorded as RUNNING (a restarted controller takes them up again)."""
    return list(session.scalars(select(Step).where(Step.state == "RUNNING")))


def step_ids(session: Session, job_id: int) -> list[str]:
    """The ids of every step the job has had (all attempts): srun numbers the next one after them."""
    return list(session.scalars(select(Step.step_id).where(Step.job_id == job_id)))


def _execute_run_write(session: Session, statement: Any, job_id: int, attempt: int) -> int:
    try:
        with session.begin_nested():
            return session.execute(statement).rowcount
    except IntegrityError as exc:
        raise RunConflict(
            f"job {job_id} attempt {attempt} refused: the job already has an active run, "
            f"that attempt exists, or the job does not ({exc.orig})"
        ) from exc


# --------------------------------------------------------------------------- nodes, partitions


def upsert_node(session: Session, name: str, **values: Any) -> None:
    _upsert(session, NodeRow, {"name": name}, values)


def upsert_partition_state(session: Session, name: str, state: str | None) -> None:
    """Set (or with None, clear) the admin override of a partition's state."""
    _upsert(session, PartitionRow, {"name": name}, {"state": state})


# ------------------------------------------------------------------------- events, outbox, meta


_EVENT_INSERT = insert(Event.__table__)


def add_event(session: Session, job_id: int | None, kind: str, time: float, **detail: Any) -> None:
    session.connection().execute(_EVENT_INSERT, {"job_id": job_id, "kind": kind, "time": time, "detail": detail})


def enqueue(
    session: Session,
    node: str,
    kind: str,
    payload: bytes,
    job_id: int | None = None,
    attempt: int | None = None,
    created_at: float = 0.0,
) -> int:
    """Write an outbox row; returns its msg_id (increasing, never reused, even after deletes)."""
    outbox = OutboxMessage.__table__
    statement = (
        insert(outbox)
        .values(node=node, kind=kind, payload=payload, job_id=job_id, attempt=attempt, created_at=created_at)
        .returning(outbox.c.msg_id)
    )
    return int(session.execute(statement).scalar_one())


def delete_outbox(session: Session, msg_id: int) -> None:
    """Forget an acknowledged message; deleting an already-deleted one is not an error."""
    session.execute(delete(OutboxMessage.__table__).where(OutboxMessage.__table__.c.msg_id == msg_id))


def set_meta(session: Session, key: str, value: str) -> None:
    _upsert(session, ControllerMeta, {"key": key}, {"value": value})


def get_meta(session: Session, key: str) -> str | None:
    return session.execute(select(ControllerMeta.value).where(ControllerMeta.key == key)).scalar_one_or_none()


# ------------------------------------------------------------------------------------- helpers


def _dialect_insert(session: Session, table: Any) -> Any:
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise AccountingError(f"unsupported database dialect {name!r}")


def _upsert(session: Session, model: type, key: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    _check_columns(model, values)
    table = model.__table__  # type: ignore[attr-defined]
    statement: Insert = _dialect_insert(session, table).values(**key, **values)
    if values:
        excluded = statement.excluded  # type: ignore[attr-defined]
        statement = statement.on_conflict_do_update(  # type: ignore[attr-defined]
            index_elements=list(key), set_={column: excluded[column] for column in values}
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(key))  # type: ignore[attr-defined]
    session.execute(statement)


@functools.lru_cache(maxsize=512)
def _check_columns_cached(model: type, names: tuple[str, ...]) -> None:
    _check_columns(model, names)


def _check_columns(model: type, names: Iterable[str]) -> None:
    columns = model.__table__.columns  # type: ignore[attr-defined]
    unknown = sorted(name for name in names if name not in columns)
    if unknown:
        raise UnknownColumnError(f"{model.__table__.name} has no column {', '.join(unknown)}")  # type: ignore[attr-defined]


def _chunks(items: list[Any], size: int = _IN_CHUNK) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
