"""Accounting records, from the controller or, when it does not answer, from the database itself.

sacct must answer for every job ever run even while the controller is down (Slurm's sacct talks
to slurmdbd, not slurmctld). The sdk may not import the data layer, so the fallback runs the
data layer's read-only entry point, `python -m accounting.reader`, as a process: the request
goes in as JSON, the records come back as msgpack in the same wire shape the controller sends.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

from sdk.errors import ControllerUnreachable, SlurmError

READER_MODULE = "accounting.reader"
READER_TIMEOUT_S = 300.0


def records(conf_path: str, args: dict, *, socket_path: str | None = None, timeout: float = 60.0) -> list[dict]:
    """The `accounting` request's records as wire maps (sdk.records.AcctRecord.from_wire reads them)."""
    from sdk.discovery import controller_socket
    from sdk.transport import LocalTransport
    try:
        path = socket_path or controller_socket(conf_path)
    except OSError:
        path = None
    if path is not None:
        try:
            return LocalTransport(path, timeout).call("accounting", args)["records"]
        except ControllerUnreachable:
            pass
    return records_from_database(conf_path, args)


def records_from_database(conf_path: str, args: dict) -> list[dict]:
    """Ask the database directly through the data layer's reader process."""
    command = [sys.executable, "-m", READER_MODULE, "--conf", conf_path]
    env = dict(os.environ)
    # the fast launchers run without site.py: give the child the paths this process has
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    try:
        proc = subprocess.run(command, input=json.dumps(args).encode(), capture_output=True, env=env,
                              timeout=READER_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ControllerUnreachable("CONNECTION", f"accounting reader failed: {exc}") from None
    if proc.returncode != 0:
        reason = proc.stderr.decode(errors="replace").strip().splitlines()
        raise SlurmError("CONNECTION", reason[-1] if reason else "accounting reader failed")
    import msgpack
    reply = msgpack.unpackb(proc.stdout, raw=False)
    if not isinstance(reply, dict) or not isinstance(reply.get("records"), list):
        raise SlurmError("PROTOCOL", "malformed reply from the accounting reader")
    return reply["records"]
