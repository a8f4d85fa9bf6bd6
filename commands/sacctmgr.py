"""sacctmgr: add, modify, delete and show accounts, users, associations and QOS, as Slurm
22.05's sacctmgr does (observed on /usr/bin/sacctmgr; tests/commands/test_sacctmgr_golden.py).

    sacctmgr [-i] [-n] [-p|-P] VERB ENTITY [names] [key=value ...] [where ...] [set ...]

- Every change is shown first; without -i sacctmgr asks `Would you like to commit changes?`
  and waits 30 s for y (anything else, end of input or the timeout discard the change).
- Exit 0 on success, 1 on anything refused, `Nothing new added.`, `Nothing modified`, ...
- The controller checks privileges (root, the SlurmUser, AdminLevel Operator/Administrator).
"""
from __future__ import annotations

import sys

from commands.sacctmgr_parse import (PROG, VERSION, Command, Options, Refused, parse_argv, parse_command,
                                     settings, where_map)
from commands.sacctmgr_text import confirm, describe_add, describe_change, describe_error

__all__ = ["Refused", "confirm", "execute", "main", "parse_argv", "parse_command"]


# ---------------------------------------------------------------- running
def run_change(cmd: Command, opts: Options, mgr, out, ask) -> int:
    """add / modify / delete: ask the controller what would change, show it, commit."""
    from sdk.errors import SlurmError
    sets, raw = settings(cmd)
    if cmd.verb == "add":
        if not cmd.names:
            raise Refused({"account": " Need name of account to add.", "user": " Need name of user to add.",
                           "qos": " Need name of qos to add."}[cmd.entity])
        if cmd.entity == "user" and not sets.get("accounts") and not sets.get("default_account"):
            raise Refused(" Need name of account to add user to.")
        call = lambda commit: mgr.add(cmd.entity, cmd.names, sets, commit=commit)  # noqa: E731
    elif cmd.verb == "modify":
        if not sets:
            raise Refused(" You didn't give me anything to set")
        where = where_map(cmd)
        call = lambda commit: mgr.modify(cmd.entity, where, sets, commit=commit)  # noqa: E731
    else:
        where = where_map(cmd)
        names = where.pop("names")
        if not names:
            raise Refused(f" No {cmd.entity} name given to delete")
        call = lambda commit: mgr.delete(cmd.entity, names, where, commit=commit)  # noqa: E731
    try:
        result = call(False)
    except SlurmError as exc:
        if exc.code == "ACCESS_DENIED":
            raise Refused(f"{PROG}: error: Your user doesn't have privilege to perform this action\n"
                          f" Error with request: {exc.message}") from None
        raise
    cluster = mgr.cluster
    outcome = result.get("outcome")
    if outcome == "nothing":
        text = {"add": " Nothing new added.", "modify": " Nothing modified", "delete": " Nothing deleted"}
        raise Refused("", 1, text[cmd.verb] + "\n")
    if outcome == "error":
        raise describe_error(result["error"], cmd, raw, cluster)
    if cmd.verb == "add":
        out.write(describe_add(cmd, sets, raw, result, cluster))
    else:
        out.write(describe_change(cmd, result, cluster))
    if not opts.immediate and not ask():
        out.write(" Changes Discarded\n")
        return 0
    try:
        call(True)
    except SlurmError as exc:
        if cmd.verb == "add" and exc.code == "ACCESS_DENIED":
            noun = {"account": "accounts", "user": "users", "qos": "QOS"}[cmd.entity]
            raise Refused(f" Problem adding {noun}: {exc.message}") from None
        if exc.code == "ACCESS_DENIED":
            raise Refused(f"{PROG}: error: Your user doesn't have privilege to perform this action\n"
                          f" Error with request: {exc.message}") from None
        raise
    return 0


class Manager:
    """sdk.acctmgr.AcctMgr plus the cluster name the messages show."""

    def __init__(self, transport) -> None:
        from sdk.acctmgr import AcctMgr
        self._mgr = AcctMgr(transport)
        self._listing: dict | None = None

    def listing(self) -> dict:
        if self._listing is None:
            self._listing = self._mgr.listing()
        return self._listing

    @property
    def cluster(self) -> str:
        return self.listing()["cluster"]

    def __getattr__(self, name: str):
        return getattr(self._mgr, name)


def _connect():
    from sdk.discovery import controller_socket, find_conf
    from sdk.errors import ControllerUnreachable
    from sdk.transport import LocalTransport
    conf_path = find_conf()
    if conf_path is None:
        raise ControllerUnreachable("CONNECTION")
    return LocalTransport(controller_socket(conf_path)), conf_path


def execute(argv: list[str], transport, conf_path: str, out, err, ask) -> int:
    from sdk.errors import SlurmError
    try:
        opts, words = parse_argv(argv)
        if not words:
            raise Refused(f"{PROG}: error: no command given (the interactive mode is not supported)")
        cmd = parse_command(words)
        mgr = Manager(transport)
        if cmd.verb == "show":
            from commands.sacctmgr_show import ShowError, run_show
            try:
                text = run_show(cmd, opts, mgr.listing())
            except ShowError as exc:
                raise Refused(exc.message) from None
            out.write(text)
            return 0
        return run_change(cmd, opts, mgr, out, ask)
    except Refused as stop:
        if stop.out:
            out.write(stop.out)
        if stop.err:
            err.write(stop.err + "\n")
        return stop.code
    except SlurmError as exc:
        err.write(f"{PROG}: error: {exc.message}\n")
        return 1


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if any(a in ("-V", "--version") for a in args):
        sys.stdout.write(VERSION + "\n")
        return 0
    try:
        transport, conf_path = _connect()
    except Exception as exc:   # noqa: BLE001 - no configuration: Slurm's connection error
        sys.stderr.write(f"{PROG}: error: {getattr(exc, 'message', exc)}\n")
        return 1
    code = execute(args, transport, conf_path, sys.stdout, sys.stderr, confirm)
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
