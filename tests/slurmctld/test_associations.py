"""The association registry and sacctmgr's operations in the controller: a real SQLite database."""
from __future__ import annotations

import pytest

from accounting.db import make_engine, migrate
from conf.slurmconf import parse_config_text
from slurmctld_py.acctmgr import AcctManager
from slurmctld_py.controller import Caller, Controller
from slurmctld_py.errors import RequestError

ROOT = Caller(0, 0, "root", "root")
ALICE = Caller(1000, 1000, "alice", "alice")
BOB = Caller(1001, 1001, "bob", "bob")


def make(tmp_path, enforce: str = "") -> Controller:
    text = (f"ClusterName=t\nStateSaveLocation={tmp_path}\nNodeName=n[1-2] CPUs=4 RealMemory=4000\n"
            "PartitionName=cpu Nodes=ALL Default=YES\nPartitionName=big Nodes=ALL\n")
    if enforce:
        text += f"AccountingStorageEnforce={enforce}\n"
    engine = make_engine(f"sqlite:///{tmp_path}/t.db")
    migrate(engine)
    ctl = Controller(parse_config_text(text), engine, clock=lambda: 1_000_000.0)
    ctl.recover()
    return ctl


def op(ctl, action, entity, caller=ROOT, commit=True, **args):
    return AcctManager(ctl).run(caller, action, {"entity": entity, "commit": commit, **args})


def spec(**kw):
    return {"script": "#!/bin/sh\ntrue\n", "work_dir": "/tmp", **kw}


def submit(ctl, caller, **kw):
    (job_id,) = ctl.submit(caller, [spec(**kw)], [f"k{len(ctl.jobs)}"])
    return ctl.jobs[job_id]


def tree(ctl):
    op(ctl, "add", "account", names=["science"], set={"shares": 50})
    op(ctl, "add", "account", names=["physics", "chem"], set={"parent": "science"})
    op(ctl, "add", "qos", names=["high"], set={"priority": 100, "flags": ["DenyOnLimit"], "usage_factor": 2.0})
    op(ctl, "add", "user", names=["alice"], set={"accounts": ["physics", "chem"], "default_account": "physics",
                                                 "shares": 10})


def test_registry_loads_at_start_and_follows_commits(tmp_path) -> None:
    ctl = make(tmp_path)
    reg = ctl.associations
    assert reg.find("root", "") is not None and reg.find("root", "").shares == 1
    assert reg.default_account("root") == "root"
    assert set(reg.qos()) == {"normal"}
    before = reg.version
    tree(ctl)
    assert reg.version == before + 4
    physics = reg.find("physics", "")
    assert (physics.parent_account, physics.shares, physics.qos) == ("science", 1, ("normal",))
    alice = reg.find("physics", "alice")
    assert (alice.parent_account, alice.shares, alice.is_user) == ("physics", 10, True)
    assert reg.default_account("alice") == "physics"
    assert reg.qos()["high"].flags == frozenset({"DenyOnLimit"}) and reg.qos()["high"].usage_factor == 2.0
    # a restarted controller rebuilds the same view from the database
    again = make(tmp_path)
    assert again.associations.associations() == reg.associations()
    assert again.associations.qos() == reg.qos()


def test_dry_run_changes_nothing(tmp_path) -> None:
    ctl = make(tmp_path)
    version = ctl.associations.version
    result = op(ctl, "add", "account", names=["x"], commit=False)
    assert result["outcome"] == "ok" and result["records"] == ["x"]
    assert ctl.associations.version == version and ctl.associations.find("x", "") is None
    assert make(tmp_path).associations.find("x", "") is None


def test_fairshare_parent_and_qos_edits(tmp_path) -> None:
    ctl = make(tmp_path)
    tree(ctl)
    op(ctl, "modify", "account", where={"names": ["physics"]}, set={"shares": None})
    assert ctl.associations.find("physics", "").shares is None
    op(ctl, "modify", "user", where={"names": ["alice"]}, set={"qos_add": ["high"], "default_qos": "high"})
    alice = ctl.associations.find("chem", "alice")
    assert alice.qos == ("high", "normal") and alice.default_qos == "high"
    bad = op(ctl, "modify", "user", where={"names": ["alice"]}, set={"qos_add": ["nosuch"]})
    assert bad["error"]["code"] == "BAD_QOS"


def test_deleting_an_account_takes_its_subtree(tmp_path) -> None:
    ctl = make(tmp_path)
    tree(ctl)
    assert op(ctl, "delete", "account", names=["science"])["records"] == ["science"]
    left = {(a.account, a.user) for a in ctl.associations.associations()}
    assert left == {("root", ""), ("root", "root")}
    assert ctl.associations.default_account("alice") is None


def test_only_admins_change_anything(tmp_path) -> None:
    ctl = make(tmp_path)
    tree(ctl)
    with pytest.raises(RequestError) as refused:
        op(ctl, "modify", "account", caller=BOB, where={"names": ["chem"]}, set={"shares": 3})
    assert refused.value.code == "ACCESS_DENIED"
    with pytest.raises(RequestError):
        op(ctl, "add", "account", caller=BOB, names=["bobs"])
    # an add may be previewed by anyone (sacctmgr shows it, then reports the refusal)
    assert op(ctl, "add", "account", caller=BOB, names=["bobs"], commit=False)["outcome"] == "ok"
    op(ctl, "modify", "user", where={"names": ["alice"]}, set={"admin_level": "Operator"})
    assert op(ctl, "add", "account", caller=ALICE, names=["alices"])["outcome"] == "ok"
    assert AcctManager(ctl).run(BOB, "list", {})["cluster"] == "t"


def test_submit_without_enforcement_uses_default_account_and_qos(tmp_path) -> None:
    ctl = make(tmp_path)
    tree(ctl)
    job = submit(ctl, ALICE)
    assert (job.account, job.qos) == ("physics", "normal")
    assert submit(ctl, BOB).account == ""      # no association: accepted, as Slurm without enforcement
    op(ctl, "modify", "user", where={"names": ["alice"], "accounts": ["chem"]},
       set={"qos_add": ["high"], "default_qos": "high"})
    assert submit(ctl, ALICE, account="chem").qos == "high"


def test_enforced_associations_reject_unknown_accounts(tmp_path) -> None:
    ctl = make(tmp_path, "associations,limits")
    tree(ctl)
    for caller, kw in ((BOB, {}), (ALICE, {"account": "science"}), (ALICE, {"account": "nosuch"})):
        with pytest.raises(RequestError) as refused:
            submit(ctl, caller, **kw)
        assert refused.value.code == "INVALID_ACCOUNT"
    assert submit(ctl, ALICE, account="chem").account == "chem"
    assert submit(ctl, ROOT).account == "root"


def test_partition_specific_association(tmp_path) -> None:
    ctl = make(tmp_path, "associations")
    tree(ctl)
    op(ctl, "add", "user", names=["bob"], set={"accounts": ["chem"], "partition": "big"})
    assert submit(ctl, BOB, partition="big").account == "chem"
    with pytest.raises(RequestError) as refused:
        submit(ctl, BOB, partition="cpu")
    assert refused.value.code == "INVALID_ACCOUNT"


def test_enforced_qos(tmp_path) -> None:
    ctl = make(tmp_path, "qos")
    tree(ctl)
    with pytest.raises(RequestError) as refused:
        submit(ctl, ALICE, qos="high")
    assert refused.value.code == "INVALID_QOS"
    with pytest.raises(RequestError) as refused:
        submit(ctl, ALICE, qos="nosuch")
    assert refused.value.code == "INVALID_QOS"
    op(ctl, "modify", "user", where={"names": ["alice"], "accounts": ["physics"]}, set={"qos_add": ["high"]})
    assert submit(ctl, ALICE, qos="high").qos == "high"
    assert submit(ctl, ALICE).qos == "normal"
