"""The exception tree of the `accounting` package.

    AccountingError              root; carries the message and the exit code a CLI should use
     ├── DatabaseUrlError        a database URL this package cannot serve
     ├── UnknownColumnError      an update named a column the table does not have (a caller bug)
     ├── JobNotFound             an update addressed a job id that has no row
     ├── RunNotFound             an update addressed a (job_id, attempt) that has no row
     └── RunConflict             a second active run for one job, or a duplicate attempt

Database driver errors (connection lost, serialization failure) are deliberately left as
SQLAlchemy's own exceptions: callers retry those as a whole transaction, which only they can do.
"""

from __future__ import annotations

__all__ = [
    "AccountingError",
    "DatabaseUrlError",
    "JobNotFound",
    "RunConflict",
    "RunNotFound",
    "UnknownColumnError",
]


class AccountingError(Exception):
    """Root of every error raised by `accounting`."""

    #: stable identifier, shown by CLIs and logs
    code: str = "accounting_error"
    #: Slurm's client commands exit 1 on any failed request
    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DatabaseUrlError(AccountingError, ValueError):
    code = "invalid_database_url"


class UnknownColumnError(AccountingError, ValueError):
    code = "unknown_column"


class JobNotFound(AccountingError, LookupError):
    code = "invalid_job_id"


class RunNotFound(AccountingError, LookupError):
    code = "invalid_run"


class RunConflict(AccountingError):
    """The database refused a run: the job already has an active one, or that attempt exists."""

    code = "run_conflict"
