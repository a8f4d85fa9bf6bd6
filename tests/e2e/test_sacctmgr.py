"""sacctmgr on a real local cluster: build an account tree, show it, and have the controller
enforce it (AccountingStorageEnforce=associations) on sbatch."""
from __future__ import annotations

import io
import json
import os
import pwd
import subprocess

import pytest

from tests.e2e import harness


PRELOAD = ("commands.sacctmgr", "commands.sacctmgr_show", "commands.sbatch", "commands.sbatch_options",
           "commands.sbatch_job_options", "commands.usage_text", "commands.batchscript", "conf.timefmt",
           "conf.units", "sdk.acctmgr", "sdk.discovery", "sdk.errors", "sdk.transport", "msgpack", "select",
           "shlex", "time", "uuid", "json", "encodings.idna")


def as_user(c: harness.Cluster, user: str, command: str, *argv: str) -> subprocess.CompletedProcess:
    """Run a command's main() in a forked child switched to `user` (our console scripts live under
    /root, which other users cannot enter); the controller sees the uid through the socket."""
    import importlib
    # the interpreter's own files are under /root, which `user` cannot read: import up front
    # everything the command would import lazily
    for name in PRELOAD:
        importlib.import_module(name)
    # another pytest session starting meanwhile puts /tmp/pytest-of-<user> back to 0700
    path = os.path.dirname(c.conf)
    while path not in ("/", "/tmp"):
        os.chmod(path, os.stat(path).st_mode | 0o711)
        path = os.path.dirname(path)
    entry = pwd.getpwnam(user)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.environ["SLURM_CONF"] = c.conf
            os.chdir(c.workdir)
            os.setgid(entry.pw_gid)
            os.setuid(entry.pw_uid)
            import sys
            sys.stdout, sys.stderr = io.StringIO(), io.StringIO()
            code = importlib.import_module(f"commands.{command}").main(list(argv))
            out = {"rc": code, "stdout": sys.stdout.getvalue(), "stderr": sys.stderr.getvalue()}
        except BaseException as exc:   # noqa: BLE001 - reported to the parent
            out = {"rc": -1, "stdout": "", "stderr": repr(exc)}
        os.write(w, json.dumps(out).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.waitpid(pid, 0)
    res = json.loads(data)
    return subprocess.CompletedProcess([command, *argv], res["rc"], res["stdout"], res["stderr"])


@pytest.fixture
def enforcing(tmp_path):
    c = harness.start(tmp_path, nodes=2, cpus=4, mem=4000)
    try:
        with open(c.conf, "a") as f:
            f.write("AccountingStorageEnforce=associations,qos\n")
        c.kill_controller()
        c.restart_controller()
        yield c
    finally:
        harness.stop(c)


@pytest.mark.slow
def test_account_tree_users_and_enforcement(enforcing) -> None:
    c = enforcing
    for line in ("add account science Description=sci Organization=org fairshare=50",
                 "add account physics,chem parent=science",
                 "add qos high Priority=100 Flags=DenyOnLimit",
                 "add user nobody account=physics fairshare=10 DefaultAccount=physics"):
        c.cmd("sacctmgr", "-i", *line.split(), check=True)
    added = c.cmd("sacctmgr", "-i", "add", "account", "science")
    assert (added.stdout, added.returncode) == (" Nothing new added.\n", 1)

    shown = c.cmd("sacctmgr", "show", "assoc", "format=Account,User,Share,QOS", "tree", "-P", check=True)
    assert shown.stdout == ("Account|User|Share|QOS\n"
                            "root||1|normal\n"
                            " root|root|1|normal\n"
                            " science||50|normal\n"
                            "  chem||1|normal\n"
                            "  physics||1|normal\n"
                            "   physics|nobody|10|normal\n")
    users = c.cmd("sacctmgr", "show", "user", check=True).stdout.splitlines()
    assert users[2:] == ["    nobody    physics      None ", "      root       root Administ+ "]

    # a user may read but not change the tree
    refused = as_user(c, "nobody", "sacctmgr", "-i", "modify", "account", "chem", "set", "fairshare=3")
    assert refused.returncode == 1
    assert refused.stderr == ("sacctmgr: error: Your user doesn't have privilege to perform this action\n"
                              " Error with request: Access/permission denied\n")

    # enforcement: an account the user has no association with is refused at submit
    bad = as_user(c, "nobody", "sbatch", "-A", "chem", "--wrap", "true")
    assert bad.returncode == 1
    assert bad.stderr.strip() == ("sbatch: error: Batch job submission failed: "
                                  "Invalid account or account/partition combination specified")
    bad_qos = as_user(c, "nobody", "sbatch", "--qos", "high", "--wrap", "true")
    assert bad_qos.returncode == 1 and "Invalid qos specification" in bad_qos.stderr
    # without -A the user's default account is used
    job = int(as_user(c, "nobody", "sbatch", "--parsable", "--wrap", "true").stdout)
    info = c.client().job(job)
    assert (info.account, info.qos) == ("physics", "normal")
    c.cmd("sacctmgr", "-i", "modify", "user", "nobody", "set", "qos+=high", check=True)
    job = int(as_user(c, "nobody", "sbatch", "--parsable", "--qos", "high", "--wrap", "true").stdout)
    assert c.client().job(job).qos == "high"

    # the tree survives a controller restart (rebuilt from the database)
    c.kill_controller()
    c.restart_controller()
    again = c.cmd("sacctmgr", "show", "assoc", "format=Account,User,Share,QOS", "tree", "-P", check=True)
    assert "   physics|nobody|10|high,normal\n" in again.stdout
    c.cmd("sacctmgr", "-i", "delete", "user", "nobody", check=True)
    gone = as_user(c, "nobody", "sbatch", "--wrap", "true")
    assert gone.returncode == 1 and "Invalid account" in gone.stderr
