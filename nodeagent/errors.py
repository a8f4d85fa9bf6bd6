"""The node agent's one exception root: every error carries the message and the exit code to show."""
from __future__ import annotations


class AgentError(Exception):
    """A fatal problem of the agent itself (bad flags, unreadable config, unusable spool)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message
