"""An in-process controller for sacctmgr tests: a real SQLite database, the real AcctManager,
and a transport that calls it as a given user (the daemon's dispatch, without the socket)."""
from __future__ import annotations

import io
import shlex
from pathlib import Path

from accounting.db import make_engine, migrate
from commands.sacctmgr import confirm, execute
from conf.slurmconf import parse_config_text
from sdk.errors import SlurmError
from slurmctld_py.acctmgr import AcctManager
from slurmctld_py.controller import Caller, Controller
from slurmctld_py.errors import RequestError

USERS = {"root": Caller(0, 0, "root", "root"), "daemon": Caller(1, 1, "daemon", "daemon"),
         "nobody": Caller(65534, 65534, "nobody", "nogroup")}


class CallerTransport:
    def __init__(self, ctl: Controller, caller: Caller) -> None:
        self.ctl, self.caller = ctl, caller

    def call(self, op: str, args: dict | None = None):
        try:
            return AcctManager(self.ctl).run(self.caller, op.removeprefix("acctmgr_"), args or {})
        except RequestError as exc:
            raise SlurmError(exc.code, exc.message or None) from None


def make_controller(tmp_path: Path, cluster: str = "anchor", url: str | None = None) -> Controller:
    conf = parse_config_text(
        f"ClusterName={cluster}\nSlurmctldHost=localhost\nSlurmctldPort=16817\nStateSaveLocation={tmp_path}\n"
        "NodeName=n[1-2] CPUs=4 RealMemory=4000\nPartitionName=cpu Nodes=ALL Default=YES\n")
    engine = make_engine(url or f"sqlite:///{tmp_path}/acct.db")
    migrate(engine)
    ctl = Controller(conf, engine, clock=lambda: 1_000_000.0)
    ctl.recover()
    return ctl


def run(ctl: Controller, line: str, user: str = "root", stdin: str | None = None) -> tuple[str, str, int]:
    """(stdout, stderr, exit code) of `sacctmgr <line>` run by `user`."""
    out, err = io.StringIO(), io.StringIO()
    answers = io.StringIO(stdin or "")
    code = execute(shlex.split(line), CallerTransport(ctl, USERS[user]), "", out, err,
                   lambda: confirm(answers, out, wait=0.0))
    return out.getvalue(), err.getvalue(), code
