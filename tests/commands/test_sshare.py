"""sshare layouts against real Slurm 22.05.

tests/commands/data/slurm_sshare.txt was captured on the live Slurm here (Fair Tree; accounts
root, anchor, zzt; user root in root and anchor) as root with
`for a in "" "-a" "-l" "-a -l" "-P" "-p" "-n" "-a -U" "-A anchor" "-u nobody" ...; do sshare $a; done`.
The rows below are that tree's values as the controller's `shares` op returns them; each
block is compared with what commands.sshare renders.
"""
from __future__ import annotations

import pytest

from commands import sshare

GOLDEN = open(__file__.rsplit("/", 1)[0] + "/data/slurm_sshare.txt").read()
TRES = "cpu=0,mem=0,energy=0,node=0,billing=0,fs/disk=0,vmem=0,pages=0"


def _row(account, user, depth, raw, norm, usage_norm, eff, fs, level):
    return {"id": 0, "account": account, "user": user, "depth": depth, "raw_shares": raw,
            "norm_shares": norm, "raw_usage": 0.0, "norm_usage": usage_norm,
            "effective_usage": eff, "fairshare": fs, "level_fs": level, "tres_run_mins": TRES}


ROWS = [
    _row("root", "", 0, None, 0.0, None, 1.0, None, None),
    _row("root", "root", 1, 1, 1 / 3, 1.0, 1.0, 0.5, 0.5),
    _row("anchor", "", 1, 1, 1 / 3, 0.0, 0.0, None, "inf"),
    _row("anchor", "root", 2, 1, 1.0, 0.0, 0.0, 1.0, "inf"),
    _row("zzt", "", 1, 1, 1 / 3, None, 0.0, None, 0.0),
]


def _block(args: str) -> list[str]:
    return GOLDEN.split(f"=== sshare {args}\n", 1)[1].split("rc=", 1)[0].rstrip("\n").split("\n")


def _render(args: list[str], me: str = "root") -> list[str]:
    opts = sshare.parse_options(args)
    report = {"rows": ROWS, "cluster": "anchor", "fair_tree": True}
    return sshare.report_text(opts, report, me).rstrip("\n").split("\n")


@pytest.mark.parametrize("args", [
    "", "-a", "-l", "-a -l", "-P", "-p", "-n", "-a -U", "-A anchor", "-u nobody",
    "-o Account,User,FairShare", "-o Account%5,User%-12,RawUsage%3", "-A nosuch",
    "-u nosuchuser", "-m",
])
def test_layout_matches_real_sshare(args):
    assert _render(args.split()) == _block(args)


def test_without_all_only_the_callers_user_rows_are_listed():
    rows = _render([], me="nobody")
    assert not any(line.split()[1:2] == ["root"] and len(line.split()) > 5 for line in rows[2:])
    assert len(rows) == 2 + 3   # header, rule, the three account rows


def test_helpformat_and_bad_field(capsys):
    assert sshare.main(["-e"]) == 0
    assert capsys.readouterr().out == _block("-e")[0] + "\n" + "\n".join(_block("-e")[1:]) + "\n"
    assert sshare.main(["-o", "Bogus"]) == 1
    assert capsys.readouterr().err == 'sshare: error: Invalid field requested: "bogus"\n'
