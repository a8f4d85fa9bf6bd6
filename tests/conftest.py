"""Shared fixtures: throwaway PostgreSQL databases.

    def test_something(pg_url): ...        # one empty database for the whole test session
    def test_other(fresh_pg_url): ...      # a new empty database for this test alone

The server is `postgresql://postgres@127.0.0.1:5432/postgres` unless SLURMPY_TEST_PG_URL names
another maintenance database. When the server cannot be reached, tests that ask for a database
FAIL (they do not skip): a silently skipped PostgreSQL suite is how PostgreSQL bugs ship.
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import quote
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

PG_ADMIN_URL_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"


def pg_admin_url() -> str:
    """A libpq URL of the maintenance database used to create and drop test databases."""
    url = os.environ.get("SLURMPY_TEST_PG_URL", PG_ADMIN_URL_DEFAULT)
    # accept SQLAlchemy spellings too; libpq only knows postgresql://
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _admin_connection() -> psycopg.Connection:
    url = pg_admin_url()
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {url} ({exc}). These tests need it: start the server "
            "or point SLURMPY_TEST_PG_URL at one.",
            pytrace=False,
        )


def _database_url(name: str) -> str:
    info = conninfo_to_dict(pg_admin_url())
    user = quote(str(info.get("user", "postgres")), safe="")
    password = f":{quote(str(info['password']), safe='')}" if info.get("password") else ""
    host = info.get("host", "127.0.0.1")
    port = info.get("port", "5432")
    return f"postgresql+psycopg://{user}{password}@{host}:{port}/{name}"


def create_pg_database(prefix: str = "acct_test", template: str | None = None) -> tuple[str, str]:
    """Create a database named `<prefix>_<random>` (optionally a copy of `template`).

    Returns (name, SQLAlchemy URL). Drop it with `drop_pg_database(name)`.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
    with _admin_connection() as admin:
        admin.execute(statement)
    return name, _database_url(name)


def drop_pg_database(name: str) -> None:
    # FORCE (PostgreSQL 13+) ends sessions a test left open, e.g. an undisposed engine's pool
    with _admin_connection() as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A `postgresql+psycopg://` URL of an empty database, shared by the whole test session."""
    name, url = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(name)


@pytest.fixture
def fresh_pg_url() -> Iterator[str]:
    """A `postgresql+psycopg://` URL of an empty database created for this test only."""
    name, url = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(name)
