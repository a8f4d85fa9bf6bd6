"""Every accounting test runs on SQLite and on PostgreSQL.

Migrating takes ~0.25 s, so each backend is migrated once per session: SQLite into a template
file that each test copies, PostgreSQL into one database that each test empties first.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from accounting import Base, make_engine, migrate, session_factory
from tests.conftest import create_pg_database, drop_pg_database

BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgresql", id="pg", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("accounting-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()  # the last connection to close checkpoints the WAL into the main file
    return path


@pytest.fixture(scope="session")
def pg_migrated() -> Iterator[tuple[str, psycopg.Connection]]:
    """One migrated PostgreSQL database for the session, and a connection that empties it."""
    name, url = create_pg_database("acct_test")
    try:
        migrate(url)
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True) as admin:
            # a test that leaks a session holding locks makes the next one fail, not hang
            admin.execute("SET lock_timeout = '5s'")
            yield url, admin
    finally:
        drop_pg_database(name)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a migrated, empty database private to this test.

    SQLite: a copy of a migrated file. PostgreSQL: the session's database, emptied with
    TRUNCATE ... RESTART IDENTITY (tens of ms, where CREATE/DROP DATABASE costs ~1 s).
    """
    if backend == "sqlite":
        path = tmp_path / "accounting.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url, admin = request.getfixturevalue("pg_migrated")
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    admin.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    return str(url)


@pytest.fixture
def empty_db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty (unmigrated) database private to this test."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    return str(request.getfixturevalue("fresh_pg_url"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


def job_row(job_id: int, **overrides: Any) -> dict[str, Any]:
    """A Job column dict with the required columns filled in."""
    row: dict[str, Any] = {
        "job_id": job_id,
        "uid": 1000,
        "gid": 1000,
        "user_name": "alice",
        "group_name": "alice",
        "name": f"job{job_id}",
        "partition": "cpu",
        "req_partitions": "cpu",
        "submit_time": 1_000.0,
        "eligible_time": 1_000.0,
        "spec": {"ntasks": 1},
        "script": "#!/bin/sh\ntrue\n",
    }
    row.update(overrides)
    return row
