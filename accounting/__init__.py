"""The data layer: SQLAlchemy 2.0 models, packaged Alembic migrations, and the controller's queries.

    from accounting import make_engine, migrate, session_factory, store
    engine = make_engine(url)            # sqlite:///path or postgresql://...
    migrate(engine)                      # alembic upgrade head, idempotent
    factory = session_factory(engine)
    with factory() as s, s.begin():
        ids = store.allocate_job_ids(s, 1)

Imports only `conf`, sqlalchemy, psycopg (through SQLAlchemy) and alembic (when migrating).
"""

from accounting import store
from accounting.db import make_engine, migrate, normalize_url, session_factory
from accounting.errors import (
    AccountingError,
    DatabaseUrlError,
    JobNotFound,
    RunConflict,
    RunNotFound,
    UnknownColumnError,
)
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
from accounting.states import ACTIVE_JOB_STATES, ACTIVE_RUN_STATES, JobState, RunOutcome, RunState
from accounting.store import ActiveState

__all__ = [
    "ACTIVE_JOB_STATES",
    "ACTIVE_RUN_STATES",
    "AccountingError",
    "ActiveState",
    "Base",
    "ControllerMeta",
    "Counter",
    "DatabaseUrlError",
    "Event",
    "Job",
    "JobNotFound",
    "JobRun",
    "JobState",
    "NodeRow",
    "OutboxMessage",
    "PartitionRow",
    "RunConflict",
    "RunNotFound",
    "RunOutcome",
    "RunState",
    "Step",
    "UnknownColumnError",
    "make_engine",
    "migrate",
    "normalize_url",
    "session_factory",
    "store",
]
