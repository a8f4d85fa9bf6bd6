"""sacctmgr behaviour beyond the golden replay: the commit prompt, option parsing, QOS flags."""
from __future__ import annotations

import io

import pytest

from commands.sacctmgr import Refused, confirm, parse_argv, parse_command
from tests.commands.acctmgr_harness import make_controller, run


@pytest.fixture
def ctl(tmp_path):
    return make_controller(tmp_path)


@pytest.mark.parametrize("answer, committed", [("y\n", True), ("yes\n", True), ("n\n", False), ("", False),
                                               ("maybe\nY\n", True)])
def test_commit_prompt(ctl, answer: str, committed: bool) -> None:
    out, err, code = run(ctl, "add account zz", stdin=answer)
    assert code == 0 and err == ""
    assert "Would you like to commit changes? (You have 30 seconds to decide)\n(N/y): \n" in out
    assert out.endswith(" Changes Discarded\n") is not committed
    assert (ctl.associations.find("zz", "") is not None) is committed


def test_prompt_gives_up_on_end_of_input() -> None:
    # Slurm 22.05 loops forever printing 'Y or N please' when stdin is at its end: we discard
    out = io.StringIO()
    assert confirm(io.StringIO(""), out, wait=0.0) is False
    assert out.getvalue().count("(N/y): ") == 1


def test_options_anywhere_and_bundled() -> None:
    opts, words = parse_argv(["show", "assoc", "-nP", "format=account"])
    assert (opts.header, opts.parsable, words) == (False, "P", ["show", "assoc", "format=account"])
    opts, _ = parse_argv(["--immediate", "--parsable", "add", "qos", "x"])
    assert opts.immediate and opts.parsable == "p"
    with pytest.raises(Refused) as version:
        parse_argv(["-V"])
    assert (version.value.out, version.value.code) == ("slurm-wlm 22.05.8\n", 0)


def test_command_words() -> None:
    cmd = parse_command(["modify", "user", "adam", "where", "account=physics", "set", "qos+=high", "fairshare=parent"])
    assert (cmd.verb, cmd.entity, cmd.names) == ("modify", "user", ["adam"])
    assert [(s.key, s.op, s.value) for s in cmd.where] == [("accounts", "=", "physics")]
    assert [(s.key, s.op, s.value) for s in cmd.sets] == [("qos", "+=", "high"), ("shares", "=", "parent")]
    cmd = parse_command(["list", "associations", "tree", "withassoc", "format=account%20,user"])
    assert (cmd.entity, cmd.tree, cmd.with_assoc, cmd.formats) == ("assoc", True, True, ["account%20", "user"])
    with pytest.raises(Refused):
        parse_command(["add", "assoc", "x"])


def test_qos_flags_and_limits(ctl) -> None:
    assert run(ctl, "-i add qos low Flags=DenyOnLimit,NoDecay MaxWall=60 UsageThreshold=0.25")[2] == 0
    assert run(ctl, "-i modify qos low set flags+=NoReserve flags-=NoDecay maxwall=-1 priority=7")[2] == 0
    out, _, _ = run(ctl, "show qos low format=name,priority,flags,maxwall,usagethres -P")
    assert out == "Name|Priority|Flags|MaxWall|UsageThres\nlow|7|DenyOnLimit,NoReserve||0.250000\n"
    low = ctl.associations.qos()["low"]
    assert low.flags == frozenset({"DenyOnLimit", "NoReserve"}) and low.max_wall is None and low.priority == 7


def test_cluster_and_truncation(ctl) -> None:
    out, _, code = run(ctl, "show cluster format=cluster,controlhost,controlport,qos")
    assert code == 0
    assert out.splitlines()[2] == "    anchor       127.0.0.1        16817               normal "
    run(ctl, "-i add account averyveryverylongname")
    out, _, _ = run(ctl, "show account averyveryverylongname format=account,org%5")
    assert out.splitlines()[2] == "averyvery+ aver+ "
