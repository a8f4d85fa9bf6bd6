"""sacctmgr against outputs captured from the real Slurm 22.05.

golden.json was written by tests/commands/data/sacctmgr/capture.py, which ran each command line
below with /usr/bin/sacctmgr (slurmdbd-backed, cluster 'anchor') in order; the same lines run
here, in the same order, against our controller's AcctManager on a real SQLite database.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.commands.acctmgr_harness import make_controller, run

GOLDEN = json.loads((Path(__file__).parent / "data" / "sacctmgr" / "golden.json").read_text())


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str, int]]:
    ctl = make_controller(tmp_path_factory.mktemp("sacctmgr"))
    # the reference cluster's own state: account 'anchor' holding user root
    for line in ("-i add account anchor Description=anchor Organization=anchor", "-i add user root account=anchor"):
        assert run(ctl, line)[2] == 0
    return [run(ctl, case["args"], case["as"], case["stdin"]) for case in GOLDEN]


@pytest.mark.parametrize("index", range(len(GOLDEN)), ids=[f"{i:02d}:{c['as']}:{c['args']}" for i, c in
                                                           enumerate(GOLDEN)])
def test_matches_real_sacctmgr(replay: list[tuple[str, str, int]], index: int) -> None:
    case = GOLDEN[index]
    stdout, stderr, code = replay[index]
    assert (stdout, stderr, code) == (case["stdout"], case["stderr"], case["rc"])
