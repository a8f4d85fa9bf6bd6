"""The exception tree of the `conf` package.

    ConfError                    root; carries the message and the exit code a CLI should use
     ├── HostlistError           malformed node-range expression        (also a ValueError)
     ├── TimeFormatError         malformed Slurm duration or timestamp  (also a ValueError)
     ├── UnitError               malformed memory size or GRES string   (also a ValueError)
     └── ConfigError             slurm.conf / gres.conf problems, all of them at once

Each subclass is also a `ValueError` so callers that only care about "bad input" can catch that.
"""

from __future__ import annotations

__all__ = ["ConfError", "ConfigError", "HostlistError", "TimeFormatError", "UnitError"]


class ConfError(Exception):
    """Root of every error raised by `conf`."""

    #: stable identifier, shown by CLIs and logs
    code: str = "conf_error"
    #: Slurm's client commands exit 1 on a bad argument or configuration
    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class HostlistError(ConfError, ValueError):
    code = "invalid_hostlist"


class TimeFormatError(ConfError, ValueError):
    code = "invalid_time"


class UnitError(ConfError, ValueError):
    code = "invalid_unit"


class ConfigError(ConfError, ValueError):
    """Every problem found in a configuration file; `problems` holds one `path:line: message` each."""

    code = "invalid_config"

    def __init__(self, problems: list[str] | tuple[str, ...]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        count = len(self.problems)
        header = f"{count} error{'s' if count != 1 else ''} in configuration:"
        super().__init__("\n".join([header, *self.problems]))
