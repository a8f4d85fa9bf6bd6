"""The controller's exception root: a request the controller refuses, in Slurm's words."""
from __future__ import annotations


class RequestError(Exception):
    """Refuse one client request. `code` is an sdk.errors.ERROR_TEXT key (the client shows
    Slurm's text for it); `detail` is an extra explanation line slurmctld would also send."""

    def __init__(self, code: str, detail: str = "", message: str = "") -> None:
        super().__init__(detail or code)
        self.code = code
        self.detail = detail
        self.message = message
