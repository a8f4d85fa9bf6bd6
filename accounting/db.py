"""Engines, sessions and migrations.

    engine = make_engine("sqlite:////var/spool/slurmpy/state.db")   # or postgresql://...
    migrate(engine)
    factory = session_factory(engine)
    with factory() as s, s.begin():
        ...

Migrations ship inside the package and run programmatically: no alembic.ini on the user's side.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from accounting.errors import DatabaseUrlError

__all__ = ["MIGRATIONS_DIR", "alembic_config", "make_engine", "migrate", "normalize_url", "session_factory"]

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Any constant works; it only has to be the same for every process migrating one database.
_MIGRATION_LOCK_KEY = 0x534C_5552_4D50_59  # "SLURMPY"

SQLITE_PRAGMAS = (
    # first: the pragmas below may need a lock another connection holds (switching a fresh
    # database to WAL does), and only a busy timeout makes them wait instead of failing
    "PRAGMA busy_timeout=10000",
    "PRAGMA journal_mode=WAL",
    # FULL, not WAL's usual NORMAL: a commit is on disk before we acknowledge it, so an
    # sbatch that printed a job id survives a SIGKILL and a power cut.
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
)


def normalize_url(url: str | URL) -> URL:
    """Parse `url` and pin PostgreSQL to psycopg 3 (`postgresql://` becomes `postgresql+psycopg://`)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUrlError(f"invalid database URL {str(url)!r}: {exc}") from exc
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        if parsed.drivername not in ("postgresql", "postgres", "postgresql+psycopg"):
            raise DatabaseUrlError(f"unsupported PostgreSQL driver {parsed.drivername!r}: use postgresql+psycopg")
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if parsed.drivername not in ("sqlite", "sqlite+pysqlite"):
            raise DatabaseUrlError(f"unsupported SQLite driver {parsed.drivername!r}: use sqlite:///path")
        return parsed
    raise DatabaseUrlError(f"unsupported database {parsed.drivername!r}: use postgresql:// or sqlite:///path")


def make_engine(url: str | URL, *, sqlite_begin: str = "IMMEDIATE", **engine_kw: Any) -> Engine:
    """An engine for PostgreSQL (pooled, pre-pinged) or SQLite (WAL, synchronous=FULL, FKs on).

    On SQLite every transaction starts with `BEGIN IMMEDIATE` by default: it takes the write
    lock up front, so a transaction that reads and then writes cannot fail half-way with
    SQLITE_BUSY when another connection wrote in between (busy_timeout cannot retry that case).
    Pass `sqlite_begin="DEFERRED"` for an engine that only reads.
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "postgresql":
        # pre-ping: a daemon outlives database restarts and failovers
        engine_kw.setdefault("pool_pre_ping", True)
        return create_engine(parsed, **engine_kw)
    if sqlite_begin.upper() not in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE"):
        raise DatabaseUrlError(f"sqlite_begin must be DEFERRED, IMMEDIATE or EXCLUSIVE, not {sqlite_begin!r}")
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, **engine_kw)
    _install_sqlite_hooks(engine, f"BEGIN {sqlite_begin.upper()}")
    return engine


def _install_sqlite_hooks(engine: Engine, begin_sql: str) -> None:
    # The stdlib driver opens transactions lazily and only before writes, so reads in a
    # "transaction" would see different snapshots. Turn its handling off and emit BEGIN
    # ourselves (the recipe in SQLAlchemy's SQLite dialect documentation).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(begin_sql)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (the controller keeps them in memory)."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(connection: Connection | None = None) -> Any:
    """An `alembic.config.Config` built in code, pointing at the packaged migrations."""
    from alembic.config import Config  # alembic is only needed when migrating

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def migrate(engine_or_url: Engine | str | URL, revision: str = "head") -> None:
    """Bring the schema up to `revision` (default head). Idempotent; safe on a live database.

    Concurrent callers are serialized: on PostgreSQL by a transaction-scoped advisory lock, on
    SQLite by the write lock BEGIN IMMEDIATE takes. The loser then finds the schema current.
    """
    from alembic import command

    owned = not isinstance(engine_or_url, Engine)
    engine = make_engine(engine_or_url) if owned else engine_or_url
    try:
        for attempt in range(6):
            try:
                with engine.begin() as connection:
                    if connection.dialect.name == "postgresql":
                        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
                    command.upgrade(alembic_config(connection), revision)
                return
            except OperationalError as exc:
                # SQLite refuses some lock waits outright (switching a brand-new file to WAL while
                # another process opens it): the migration is idempotent, so try again
                if engine.dialect.name != "sqlite" or "locked" not in str(exc) or attempt == 5:
                    raise
                time.sleep(0.05 * 2 ** attempt)
    finally:
        if owned:
            engine.dispose()
