"""Packaged migrations: idempotent, concurrent-safe, and in step with the models."""

from __future__ import annotations

import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from accounting import Base, make_engine, migrate

EXPECTED_TABLES = {
    "accounts",
    "assoc_usage",
    "associations",
    "qos",
    "users",
    "alembic_version",
    "controller_meta",
    "counters",
    "events",
    "job_runs",
    "jobs",
    "nodes",
    "outbox",
    "partitions",
    "steps",
}


def _head() -> str:
    """The single head revision (one linear history: 0001 <- 0002 job arrays <- 0003 ...)."""
    from alembic.script import ScriptDirectory

    from accounting.db import alembic_config

    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"migrations branch: heads {heads}"
    return heads[0]


def test_migrations_are_linear_and_0002_is_job_arrays() -> None:
    from alembic.script import ScriptDirectory

    from accounting.db import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    _head()
    assert script.get_revision("0002").down_revision == "0001"


def test_migrate_twice_is_clean(empty_db_url: str) -> None:
    migrate(empty_db_url)  # from a URL string
    engine = make_engine(empty_db_url)
    try:
        migrate(engine)  # and again from an engine: nothing to do, no error
        with engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) == EXPECTED_TABLES
            assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == _head()
            if connection.dialect.name == "sqlite":
                index_sql = "SELECT name FROM sqlite_master WHERE type = 'index'"
            else:
                index_sql = "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'"
            indexes = set(connection.exec_driver_sql(index_sql).scalars())
            assert {"uq_job_runs_one_active", "ix_jobs_eligible_span", "ix_jobs_end_time"} <= indexes
    finally:
        engine.dispose()


# SQLite cannot reflect the expression index ix_jobs_eligible_span, so alembic skips it there
# (with these warnings); PostgreSQL compares it.
@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_head_matches_the_models(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        migrate(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_concurrent_migrations_serialize(empty_db_url: str) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            migrate(empty_db_url)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
