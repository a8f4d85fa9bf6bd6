"""Engines: URL handling, SQLite durability pragmas, session factory."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from accounting import DatabaseUrlError, make_engine, normalize_url, session_factory
from accounting.models import ControllerMeta
from tests.conftest import create_pg_database


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg"),
        ("postgres://u@h/db", "postgresql+psycopg"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg"),
        ("sqlite:///x.db", "sqlite"),
    ],
)
def test_normalize_url_pins_psycopg(given: str, driver: str) -> None:
    assert normalize_url(given).drivername == driver


@pytest.mark.parametrize("bad", ["mysql://u@h/db", "postgresql+psycopg2://u@h/db", "not a url"])
def test_unsupported_urls_are_refused_with_a_reason(bad: str) -> None:
    with pytest.raises(DatabaseUrlError) as caught:
        make_engine(bad)
    assert caught.value.exit_code == 1 and caught.value.message


def test_sqlite_connections_are_durable_and_enforce_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'state.db'}")  # parent dir is created
    try:
        with engine.connect() as connection:
            pragmas = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
        assert pragmas == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1, "busy_timeout": 10000}
    finally:
        engine.dispose()


def test_sqlite_transactions_take_the_write_lock_up_front(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            assert connection.exec_driver_sql("SELECT 1").scalar() == 1
            # only a read so far, yet the write lock is held: another writer is refused
            other = sqlite3.connect(path, timeout=0, isolation_level=None)
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
                assert other.execute("SELECT 1").fetchone() == (1,)  # WAL: readers still read
            finally:
                other.close()
    finally:
        engine.dispose()


def test_session_factory_keeps_objects_readable_after_commit(engine: Engine) -> None:
    factory = session_factory(engine)
    with factory() as session, session.begin():
        meta = ControllerMeta(key="epoch", value="7")
        session.add(meta)
    assert meta.value == "7"  # no refresh (and no error) after the commit
    with engine.connect() as connection:
        assert connection.execute(text("SELECT value FROM controller_meta")).scalar() == "7"


def test_pg_url_fixture_gives_a_throwaway_psycopg_database(pg_url: str) -> None:
    # (other suites share pg_url and may have migrated it, so emptiness is not asserted here)
    assert pg_url.startswith("postgresql+psycopg://")
    engine = make_engine(pg_url)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT current_database()").scalar().startswith("acct_test_")
    finally:
        engine.dispose()


def test_unreachable_postgresql_fails_instead_of_skipping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLURMPY_TEST_PG_URL", "postgresql://postgres@127.0.0.1:1/postgres")
    with pytest.raises(pytest.fail.Exception, match="not reachable"):
        create_pg_database()
