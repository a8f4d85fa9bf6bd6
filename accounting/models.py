"""The tables, as SQLAlchemy 2.0 typed models.

Conventions that hold for every table:
- Times are float Unix seconds; NULL means "not yet" (never 0, which sacct would print as 1970).
- Every NOT NULL column has both a Python default (used by bulk inserts) and a server default
  (used by hand-written SQL and by rows added in later migrations), and they agree.
- JSON columns use the portable `sqlalchemy.JSON`; nullable ones store Python None as SQL NULL.
- `migrations/versions/0001_initial.py` creates exactly this schema; a test compares the two.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from accounting.states import ACTIVE_RUN_STATES

__all__ = [
    "ACTIVE_ASSOC_WHERE",
    "ACTIVE_RUN_WHERE",
    "AccountRow",
    "AssocUsage",
    "AssociationRow",
    "QosRow",
    "UserRow",
    "Base",
    "ControllerMeta",
    "Counter",
    "Event",
    "Job",
    "JobRun",
    "NodeRow",
    "OutboxMessage",
    "PartitionRow",
    "Step",
]

# Stable constraint names, so later migrations can address them on both dialects.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-numbers a column declared exactly INTEGER PRIMARY KEY; BIGINT would not be.
AutoBigInt = BigInteger().with_variant(Integer(), "sqlite")

#: the predicate of the partial unique index "at most one active run per job"
ACTIVE_RUN_WHERE = "state IN ({})".format(", ".join(f"'{s}'" for s in ACTIVE_RUN_STATES))


def _str(default: str = "", **kw: Any) -> Any:
    return mapped_column(String, default=default, server_default=default, **kw)


def _int(default: int = 0, kind: Any = Integer, **kw: Any) -> Any:
    return mapped_column(kind, default=default, server_default=str(default), **kw)


def _bool(default: bool) -> Any:
    return mapped_column(Boolean, default=default, server_default=text("true" if default else "false"))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {int: Integer, str: String, float: Float, bool: Boolean}


class Counter(Base):
    """Named monotonic counters; row 'job_id' holds the next job id to hand out."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class Job(Base):
    """One job, from submission forever (sacct reads finished jobs from here)."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_state", "state"),
        Index("ix_jobs_user_name", "user_name"),
        Index("ix_jobs_submit_time", "submit_time"),
        Index("ix_jobs_eligible_time", "eligible_time"),
        Index("ix_jobs_end_time", "end_time"),
        Index("ix_jobs_array_job_id", "array_job_id"),
    )

    # Ids come from Counter 'job_id' so they are never reused, even after a row is gone.
    job_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # NULLs do not collide in a unique index (both dialects), so keyless submits are fine.
    idempotency_key: Mapped[str | None] = mapped_column(String, unique=True)
    uid: Mapped[int]
    gid: Mapped[int]
    user_name: Mapped[str]
    group_name: Mapped[str] = _str()
    name: Mapped[str] = _str()
    # the partition it runs/ran in, or the requested comma list while pending
    partition: Mapped[str] = _str()
    req_partitions: Mapped[str] = _str()
    account: Mapped[str] = _str()
    qos: Mapped[str] = _str()
    state: Mapped[str] = _str("PENDING")
    reason: Mapped[str] = _str("None")
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    script: Mapped[str] = mapped_column(Text, default="", server_default="")
    submit_time: Mapped[float]
    eligible_time: Mapped[float | None]
    start_time: Mapped[float | None]
    end_time: Mapped[float | None]
    time_limit_min: Mapped[int | None]  # NULL = unlimited
    priority: Mapped[int] = _int(0, BigInteger)
    nice: Mapped[int] = _int()
    held: Mapped[bool] = _bool(False)
    hold_reason: Mapped[str] = _str()
    exit_code: Mapped[int] = _int()
    exit_signal: Mapped[int] = _int()
    derived_exit_code: Mapped[int] = _int()
    nodes: Mapped[str] = _str()  # compressed hostlist
    num_nodes: Mapped[int] = _int(1)
    num_cpus: Mapped[int] = _int(1)
    num_tasks: Mapped[int] = _int(1)
    req_tres: Mapped[str] = _str()
    alloc_tres: Mapped[str] = _str()
    work_dir: Mapped[str] = _str()
    stdout: Mapped[str] = _str()
    stderr: Mapped[str] = _str()
    restarts: Mapped[int] = _int()
    # Slurm's default JobRequeue=1: batch jobs are requeued after a node failure
    requeue: Mapped[bool] = _bool(True)
    cancelled_by: Mapped[int | None]
    current_attempt: Mapped[int] = _int()
    array_job_id: Mapped[int] = _int(0, BigInteger)
    array_task_id: Mapped[int | None]
    # an array's pending record: the indices not yet started ('' once none is left) and its
    # throttle (%N, 0 = none); see migrations/versions/0002_job_arrays.py
    array_task_str: Mapped[str] = mapped_column(Text, default="", server_default="")
    array_max_tasks: Mapped[int] = _int()
    dependency: Mapped[str] = _str()
    comment: Mapped[str] = _str()
    submit_line: Mapped[str] = mapped_column(Text, default="", server_default="")


# Lets sacct's window query bound "jobs still running at the window's start" by an index range
# on eligible_time: max(end_time - eligible_time) is one index probe (see accounting.queries).
Index("ix_jobs_eligible_span", Job.end_time - Job.eligible_time)


class JobRun(Base):
    """One attempt at running a job; the database allows at most one active attempt per job."""

    __tablename__ = "job_runs"
    __table_args__ = (
        Index(
            "uq_job_runs_one_active",
            "job_id",
            unique=True,
            sqlite_where=text(ACTIVE_RUN_WHERE),
            postgresql_where=text(ACTIVE_RUN_WHERE),
        ),
    )

    job_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("jobs.job_id"), primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    state: Mapped[str] = _str("launching")
    nodes: Mapped[str] = _str()
    # [{node, cpus, memory_mb, gpus}, ...]
    allocations: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    batch_host: Mapped[str] = _str()
    start_time: Mapped[float | None]
    end_time: Mapped[float | None]
    outcome: Mapped[str | None]  # RunOutcome once ended
    exit_code: Mapped[int | None]
    exit_signal: Mapped[int | None]
    max_rss_kb: Mapped[int | None] = mapped_column(BigInteger)
    cpu_seconds: Mapped[float | None]


class Step(Base):
    """A step of one attempt: 'batch', 'extern', 'interactive' or '0', '1', ... for srun."""

    __tablename__ = "steps"

    job_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("jobs.job_id"), primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    step_id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = _str()
    state: Mapped[str] = _str("RUNNING")
    start_time: Mapped[float | None]
    end_time: Mapped[float | None]
    exit_code: Mapped[int | None]
    exit_signal: Mapped[int | None]
    nodes: Mapped[str] = _str()
    num_tasks: Mapped[int] = _int(1)
    num_cpus: Mapped[int] = _int(1)
    alloc_tres: Mapped[str] = _str()
    max_rss_kb: Mapped[int | None] = mapped_column(BigInteger)
    cpu_seconds: Mapped[float | None]


class NodeRow(Base):
    """A node's durable facts: admin state and reason, last registration and heartbeat."""

    __tablename__ = "nodes"

    name: Mapped[str] = mapped_column(String, primary_key=True)
    state: Mapped[str] = _str("UP")  # admin state: UP, DOWN, DRAIN, ...
    reason: Mapped[str] = _str()
    reason_time: Mapped[float | None]
    reason_uid: Mapped[int | None]
    cpus: Mapped[int] = _int()
    memory_mb: Mapped[int] = _int()
    gpus: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    last_heartbeat: Mapped[float | None]
    boot_time: Mapped[float | None]
    registered: Mapped[bool] = _bool(False)


class PartitionRow(Base):
    """An admin override of a partition's state (scontrol update); NULL = as configured."""

    __tablename__ = "partitions"

    name: Mapped[str] = mapped_column(String, primary_key=True)
    state: Mapped[str | None]


class Event(Base):
    """A per-job (or cluster-wide, job_id NULL) timeline entry for root-cause analysis."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(AutoBigInt, primary_key=True, autoincrement=True)
    job_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    time: Mapped[float]
    kind: Mapped[str]
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class OutboxMessage(Base):
    """A message to a node agent, written with the state change it announces."""

    __tablename__ = "outbox"
    # AUTOINCREMENT makes SQLite never hand out an id again after its row is deleted: agents
    # drop duplicates by msg_id, so a reused id would silently swallow a new message.
    __table_args__ = {"sqlite_autoincrement": True}

    msg_id: Mapped[int] = mapped_column(AutoBigInt, primary_key=True, autoincrement=True)
    node: Mapped[str] = mapped_column(String, index=True)
    kind: Mapped[str]
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    attempt: Mapped[int | None]
    created_at: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")


class ControllerMeta(Base):
    """Small controller facts, e.g. the leader epoch."""

    __tablename__ = "controller_meta"

    key: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[str]


# ---------------------------------------------------------------- associations and QOS (0003)
# Rows are soft-deleted (deleted=true), as slurmdbd does, so ids referenced by usage stay valid.
ACTIVE_ASSOC_WHERE = "deleted = false"


class AccountRow(Base):
    """A bank account of the association tree (sacctmgr add account)."""

    __tablename__ = "accounts"

    name: Mapped[str] = mapped_column(String, primary_key=True)
    description: Mapped[str] = _str()
    organization: Mapped[str] = _str()


class UserRow(Base):
    """A user known to accounting: default account and AdminLevel (None, Operator, Administrator)."""

    __tablename__ = "users"

    name: Mapped[str] = mapped_column(String, primary_key=True)
    default_account: Mapped[str] = _str()
    admin_level: Mapped[str] = _str("None")


class AssociationRow(Base):
    """(account, user, partition): user '' is the account's own node in the tree."""

    __tablename__ = "associations"
    __table_args__ = (
        Index(
            "uq_associations_live",
            "account",
            "user",
            "partition",
            unique=True,
            sqlite_where=text(ACTIVE_ASSOC_WHERE),
            postgresql_where=text(ACTIVE_ASSOC_WHERE),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str]
    user: Mapped[str] = _str()
    partition: Mapped[str] = _str()
    parent_account: Mapped[str] = _str()  # '' only for root's own association
    shares: Mapped[int | None]  # Fairshare; NULL = 'parent'
    priority: Mapped[int | None]
    qos: Mapped[str] = _str()  # comma list of QOS names
    default_qos: Mapped[str] = _str()
    deleted: Mapped[bool] = _bool(False)


class QosRow(Base):
    """A quality of service (sacctmgr add qos); limits NULL/'' = none."""

    __tablename__ = "qos"

    name: Mapped[str] = mapped_column(String, primary_key=True)
    description: Mapped[str] = _str()
    priority: Mapped[int] = _int()
    usage_factor: Mapped[float] = mapped_column(Float, default=1.0, server_default="1.0")
    usage_threshold: Mapped[float | None]
    flags: Mapped[str] = _str()
    grace_time: Mapped[int] = _int()
    preempt: Mapped[str] = _str()
    preempt_mode: Mapped[str] = _str("cluster")
    max_wall: Mapped[int | None]  # minutes
    max_jobs_per_user: Mapped[int | None]
    max_tres_per_user: Mapped[str] = _str()
    grp_tres: Mapped[str] = _str()
    deleted: Mapped[bool] = _bool(False)
    # creation order: sacctmgr lists QOS by id, not by name
    seq: Mapped[int] = _int()


class AssocUsage(Base):
    """An association's decayed usage, kept by the controller for fair share."""

    __tablename__ = "assoc_usage"

    assoc_id: Mapped[int] = mapped_column(Integer, ForeignKey("associations.id"), primary_key=True)
    usage_raw: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    usage_tres: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[float | None]
