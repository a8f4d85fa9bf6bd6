"""The SDK's exceptions. Each carries Slurm's error text so the commands print Slurm's words.

The controller answers a failed request with {"code": <name below>, "message": <text>}; the SDK
raises the matching class. Codes are Slurm's errno names without the ESLURM_ prefix.
"""
from __future__ import annotations

# Slurm's strerror texts (src/common/slurm_errno.c), keyed by our code names.
ERROR_TEXT: dict[str, str] = {
    "INVALID_PARTITION_NAME": "Invalid partition name specified",
    "DEFAULT_PARTITION_NOT_SET": "No partition specified or system default partition",
    "ACCESS_DENIED": "Access/permission denied",
    "TOO_MANY_REQUESTED_CPUS": "More processors requested than permitted",
    "INVALID_NODE_COUNT": "Node count specification invalid",
    "REQUESTED_NODE_CONFIG_UNAVAILABLE": "Requested node configuration is not available",
    "REQUESTED_PART_CONFIG_UNAVAILABLE": "Requested partition configuration not available now",
    "INVALID_JOB_ID": "Invalid job id specified",
    "INVALID_NODE_NAME": "Invalid node name specified",
    "ALREADY_DONE": "Job/step already completing or completed",
    "JOB_PENDING": "Job is pending execution",
    "TRANSITION_STATE_NO_UPDATE": "Job can not be altered now, try again later",
    "DEPENDENCY": "Job dependency problem",
    "INVALID_ARRAY": "Invalid job array specification",
    "INVALID_ACCOUNT": "Invalid account or account/partition combination specified",
    "INVALID_QOS": "Invalid qos specification",
    "INVALID_TIME_LIMIT": "Requested time limit is invalid (missing or exceeds some limit)",
    "INVALID_GRES": "Invalid generic resource (gres) specification",
    "JOB_NOT_PENDING": "Job is no longer pending execution",
    "JOB_FINISHED": "Job has already finished",
    "JOB_NOT_RUNNING": "Job is not running",
    "PARTITION_DOWN": "Partition in DOWN state",
    "INVALID_TRES": "Invalid Trackable RESource (TRES) specification",
    "INVALID_FEATURE": "Invalid feature specification",
    "MAX_JOB_COUNT": "MaxJobCount limit reached",
    "BAD_REQUEST": "Unexpected message received",
    "PROTOCOL": "Protocol version has changed, re-link your code",
    "INTERNAL": "Unspecified error",
    "CONNECTION": "Unable to contact slurm controller (connect failure)",
    "TIMEOUT": "Socket timed out on send/recv operation",
}


class SlurmError(Exception):
    """Root of the SDK's errors. `code` is a key of ERROR_TEXT; `message` is what to show."""

    exit_code = 1

    def __init__(self, code: str, message: str | None = None, detail: str = "") -> None:
        self.code = code
        self.message = message or ERROR_TEXT.get(code, code)
        # an explanation the controller adds before the error line, as slurmctld does
        # ('CPU count per node can not be satisfied'); commands print it as '<cmd>: error: <detail>'
        self.detail = detail
        super().__init__(self.message)


class ControllerUnreachable(SlurmError):
    """No controller answers on the configured socket (not running, wrong SLURM_CONF)."""


class ConfigNotFound(SlurmError):
    """No slurm.conf could be located (no SLURM_CONF, no local cluster, no /etc/slurm)."""


def error_from_reply(code: str, message: str, detail: str = "") -> SlurmError:
    if code == "CONNECTION":
        return ControllerUnreachable(code, message)
    return SlurmError(code, message, detail)
