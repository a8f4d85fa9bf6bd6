"""One request to the local controller for the view commands, with Slurm's words on failure.

    reply, reason = ask("shares")
    if reply is None:
        sys.stderr.write(f"sshare: error: {reason}\n")

The lean path (no SDK client object): find slurm.conf as every command does, talk over the local
socket. A missing slurm.conf or a silent controller reads as Slurm's connect failure.
"""
from __future__ import annotations

CONNECT_FAILURE = "Unable to contact slurm controller (connect failure)"


def ask(op: str, args: dict | None = None) -> tuple[dict | None, str]:
    """(the controller's reply, '') or (None, the reason as Slurm prints it)."""
    from sdk.discovery import controller_socket, find_conf
    from sdk.errors import SlurmError
    from sdk.transport import LocalTransport
    try:
        conf = find_conf()
        if not conf:
            return None, CONNECT_FAILURE
        return LocalTransport(controller_socket(conf)).call(op, args or {}), ""
    except SlurmError as exc:
        return None, exc.message
    except OSError:
        return None, CONNECT_FAILURE
