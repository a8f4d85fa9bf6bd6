"""scancel against a fake controller. Expected texts are Slurm 22.05.8's /usr/bin/scancel output
(stdout+stderr) for the command in each case's comment; the fake controller answers as slurmctld
did there (unknown id -> INVALID_JOB_ID, finished job -> ALREADY_DONE)."""
from __future__ import annotations

import os

import pytest

from commands import scancel
from tests.commands.fake_ctld_submit import FakeController, Refuse

TRY = 'Try "scancel --help" for more information'
KNOWN = {62: "", 34: "ALREADY_DONE", 7: "ACCESS_DENIED"}  # job id -> code the controller answers


def answer(op, args):
    assert op == "cancel"
    if args["job_ids"]:
        return {"results": [{"job_id": j, "code": KNOWN.get(j, "INVALID_JOB_ID"), "message": ""}
                            for j in args["job_ids"]]}
    return {"results": [{"job_id": 62, "code": "", "message": ""}] if args["name"] == "match" else []}


@pytest.fixture
def ctld(tmp_path, monkeypatch):
    controller = FakeController(tmp_path, answer)
    with controller:
        for key in list(os.environ):
            if key.startswith("SCANCEL_") or key == "POSIXLY_CORRECT":
                monkeypatch.delenv(key)
        monkeypatch.setenv("SLURM_CONF", controller.conf_path)
        monkeypatch.setattr(scancel, "CONNECT_RETRY_DELAYS", (0.0,))
        yield controller


def run(argv, capsys):
    code = scancel.main(argv)
    captured = capsys.readouterr()
    return code, (captured.out + captured.err).splitlines()


UID = os.getuid()
GOLDEN = [
    ([], ["scancel: error: No job identification provided"], 1),                  # scancel
    (["-b"], ["scancel: error: No job identification provided"], 1),              # scancel -b
    (["abc"], ["scancel: error: Invalid job id abc"], 1),                         # scancel abc
    (["0"], ["scancel: error: Invalid job id 0"], 1),                             # scancel 0
    (["1", "abc"], ["scancel: error: Invalid job id abc"], 1),                    # scancel 1 abc
    (["1a"], ["scancel: error: Invalid job id 1a"], 1),                           # scancel 1a
    (["--", "-5"], ["scancel: error: Invalid job id -5"], 1),                     # scancel -- -5
    (["123_abc"], ["scancel: error: Invalid job id 123_abc"], 1),                 # scancel 123_abc
    (["123.batch"], ["scancel: error: Invalid job id 123.batch"], 1),             # scancel 123.batch
    (["99999"], [], 0),                                                           # scancel 99999
    (["4294967295"], [], 0),                                                      # scancel 4294967295
    (["-v", "99999"], ["scancel: Terminating job 99999",                          # scancel -v 99999
                       "scancel: error: Kill job error on job id 99999: Invalid job id specified"], 0),
    (["99999", "-v"], ["scancel: Terminating job 99999",                          # scancel 99999 -v
                        "scancel: error: Kill job error on job id 99999: Invalid job id specified"], 0),
    (["34"], [], 0),                                                              # scancel 34 (completed)
    (["-v", "34"], ["scancel: Terminating job 34",                                # scancel -v 34
                    "scancel: error: Kill job error on job id 34: Job/step already completing or completed"], 0),
    (["12_3"], [], 0),                                                            # scancel 12_3
    (["-v", "12_3"], ["scancel: Terminating job 12_3",                            # scancel -v 12_3
                      "scancel: error: Kill job error on job id 12_3: Invalid job id specified"], 0),
    (["-v", "99999_[1-3]"], ["scancel: Terminating job 99999_[1-3]",              # scancel -v 99999_[1-3]
                             "scancel: error: Kill job error on job id 99999_[1-3]: Invalid job id specified"], 0),
    (["12.0"], ["scancel: error: Kill job error on job step id 12.0: Invalid job id specified"], 1),
    # bracket ranges are checked like hostlist ranges before anything is sent (scancel -v 409_[...])
    (["-v", "409_[10-16:2]"], ["scancel: error: _parse_single_range: Invalid range: `10-16:2'",
                               "scancel: error: Invalid job id 409_[10-16:2]"], 1),
    (["-v", "409_[3-1]"], ["scancel: error: _parse_single_range: Invalid range: `3-1'",
                           "scancel: error: Invalid job id 409_[3-1]"], 1),
    (["409_[-8]"], ["scancel: error: _parse_single_range: Invalid range: `-8'",
                    "scancel: error: Invalid job id 409_[-8]"], 1),
    (["409_[9x]"], ["scancel: error: _parse_single_range: Invalid range: `9x'",
                    "scancel: error: Invalid job id 409_[9x]"], 1),
    (["409_[4-5,]"], ["scancel: error: _parse_single_range: Invalid range: `'",
                      "scancel: error: Invalid job id 409_[4-5,]"], 1),
    (["409_[]"], ["scancel: error: _parse_single_range: Invalid range: `'",
                  "scancel: error: Invalid job id 409_[]"], 1),
    (["409_[0-99999]"], ["scancel: error: _parse_single_range: Too many hosts in range `0-99999'",
                         "scancel: error: Invalid job id 409_[0-99999]"], 1),
    (["409_[18"], ["scancel: error: Invalid job id 409_[18"], 1),                # scancel 409_[18
    (["409_19]"], ["scancel: error: Invalid job id 409_19]"], 1),                # scancel 409_19]
    (["-v", "409_[7-]"], ["scancel: Terminating job 409_[7-]",                   # scancel -v 409_[7-]
                          "scancel: error: Kill job error on job id 409_[7-]: Invalid job id specified"], 0),
    (["-v", "99999,99998"], ["scancel: Terminating job 99999", "scancel: Terminating job 99998",
                             "scancel: error: Kill job error on job id 99999: Invalid job id specified",
                             "scancel: error: Kill job error on job id 99998: Invalid job id specified"], 0),
    (["-v", " 99999"], ["scancel: Terminating job  99999",                        # scancel -v " 99999"
                        "scancel: error: Kill job error on job id  99999: Invalid job id specified"], 0),
    (["-s", "FOO", "99999"], ["Unknown job signal: FOO"], 1),                     # scancel -s FOO 99999
    (["-s", "99", "99999"],                                                       # scancel -s 99 99999
     ["scancel: error: Kill job error on job id 99999: Invalid job id specified"], 1),
    (["-s", "usr1", "99999", "99998"],                                            # scancel -s usr1 99999 99998
     ["scancel: error: Kill job error on job id 99999: Invalid job id specified",
      "scancel: error: Kill job error on job id 99998: Invalid job id specified"], 1),
    (["-Q", "-s", "USR1", "34"], [], 1),                                          # scancel -Q -s USR1 62 (done)
    (["-v", "-s", "USR1", "62"], ["scancel: Signal 10 to job 62"], 0),            # scancel -v -s USR1 62
    (["-v", "-b", "62"], ["scancel: Terminating batch job 62"], 0),               # scancel -v -b 62
    # runuser -u nobody -- scancel 7 / scancel -Q 7 (a root job): errno 2002 & 0xff, shown even with -Q
    (["7"], ["scancel: error: Kill job error on job id 7: Access/permission denied"], 210),
    (["-Q", "7"], ["scancel: error: Kill job error on job id 7: Access/permission denied"], 210),
    (["--foo"], ["scancel: unrecognized option '--foo'", TRY], 1),                # scancel --foo
    (["-s"], ["scancel: option requires an argument -- 's'", TRY], 1),            # scancel -s
    (["--batch=1", "1"], ["scancel: option '--batch' doesn't allow an argument", TRY], 1),
    (["-t", "bogus"], ["Invalid job state specified: bogus",                      # scancel -t bogus
                       "Valid job states are PENDING, RUNNING, and SUSPENDED"], 1),
    (["-n", "x", "-t", "running,pending"], ["Invalid job state specified: running,pending",
                                            "Valid job states are PENDING, RUNNING, and SUSPENDED"], 1),
    (["-u", "nosuchuser"], ["scancel: error: Invalid user name: nosuchuser"], 1),  # scancel -u nosuchuser
    # scancel -v -t pending -n nosuchname
    (["-v", "-t", "pending", "-n", "nosuchname"],
     ["scancel: error: No active jobs match ALL job filters, including: job_name=nosuchname state=PENDING "], 0),
    # scancel -n nosuch -t R -v / -t CD
    (["-n", "nosuch", "-t", "R", "-v"],
     ["scancel: error: No active jobs match ALL job filters, including: job_name=nosuch state=RUNNING "], 0),
    (["-n", "nosuch", "-t", "CD", "-v"],
     ["scancel: error: No active jobs match ALL job filters, including: job_name=nosuch state=COMPLETED "], 0),
    # scancel -v -n nosuch --me    (run as root: uid 0)
    (["-v", "-n", "nosuch", "--me"],
     [f"scancel: error: No active jobs match ALL job filters, including: job_name=nosuch user_name={UID} "], 0),
    # scancel -v -n nosuch -w n[1-2] -s USR1
    (["-v", "-n", "nosuch", "-w", "n[1-2]", "-s", "USR1"],
     ["scancel: error: No active jobs match ALL job filters, including: job_name=nosuch nodelist=n[1-2] "], 0),
    (["-n", "nosuch"], [], 0),
    (["-v", "-n", "match"], ["scancel: Terminating job 62"], 0),
    (["-V"], ["slurm-wlm 22.05.8"], 0),                                           # scancel -V
]


@pytest.mark.parametrize("argv, expected, code", GOLDEN, ids=[" ".join(g[0]) or "(none)" for g in GOLDEN])
def test_golden(ctld, capsys, argv, expected, code):
    assert run(argv, capsys) == (code, expected)


def test_malformed_ids_stop_before_contacting_the_controller(ctld, capsys):
    run(["5", "abc"], capsys)
    run([], capsys)
    run(["-t", "bogus", "5"], capsys)
    assert ctld.requests == []


def test_wire_arguments(ctld, capsys):
    run(["-s", "SIGTERM", "-b", "-n", "nm", "-p", "cpu", "-t", "pd", "-w", "n1", "-u", str(UID), "5", "6_1", "7"],
        capsys)
    (request,) = ctld.requests
    assert request["op"] == "cancel"
    import pwd
    assert request["args"] == {"job_ids": [5, 7], "signal": 15, "batch_only": True, "full": False,
                               "user": pwd.getpwuid(UID).pw_name, "name": "nm", "partition": "cpu",
                               "states": ["PENDING"], "nodes": "n1",
                               "array_tasks": [{"job_id": 6, "tasks": [1], "token": "6_1"}]}


def test_array_task_forms_go_to_the_controller_with_their_indices(ctld, capsys):
    run(["12_[1-3,7]", "12_9", "13_*", "14_[ 2]", "15_[5-]"], capsys)
    args = ctld.requests[0]["args"]
    assert args["job_ids"] == [13]          # 13_* is the whole array
    assert args["array_tasks"] == [{"job_id": 12, "tasks": [1, 2, 3, 7], "token": "12_[1-3,7]"},
                                   {"job_id": 12, "tasks": [9], "token": "12_9"},
                                   {"job_id": 14, "tasks": [2], "token": "14_[ 2]"},
                                   {"job_id": 15, "tasks": [], "token": "15_[5-]"}]


def test_array_token_results_are_reported_by_token(ctld, capsys):
    ctld.answer = lambda op, args: {"results": [
        {"job_id": 12, "token": "12_[1-3]", "code": "", "message": ""},
        {"job_id": 12, "token": "12_9", "code": "ACCESS_DENIED", "message": ""}]}
    assert run(["12_[1-3]", "12_9"], capsys) == (
        210, ["scancel: error: Kill job error on job id 12_9: Access/permission denied"])


def test_default_cancel_sends_no_signal(ctld, capsys):
    run(["5"], capsys)
    args = ctld.requests[0]["args"]
    assert args["signal"] is None and args["batch_only"] is False and args["states"] is None


def test_environment_filters(ctld, capsys, monkeypatch):
    monkeypatch.setenv("SCANCEL_NAME", "envname")
    monkeypatch.setenv("SCANCEL_PARTITION", "envpart")
    run(["-p", "clipart"], capsys)
    args = ctld.requests[0]["args"]
    assert (args["name"], args["partition"], args["job_ids"]) == ("envname", "clipart", [])


def test_unsupported_filter_is_refused(ctld, capsys):
    assert run(["-A", "acct"], capsys) == (1, ["scancel: error: --account is not supported by this scheduler yet"])
    assert ctld.requests == []


def test_unreachable_controller(tmp_path, monkeypatch, capsys):
    (tmp_path / "slurm.conf").write_text(f"SlurmctldSocket={tmp_path}/nobody.sock\n")
    monkeypatch.setenv("SLURM_CONF", str(tmp_path / "slurm.conf"))
    monkeypatch.setattr(scancel, "CONNECT_RETRY_DELAYS", ())
    assert run(["5"], capsys) == (
        1, ["scancel: error: Kill job error on job id 5: Unable to contact slurm controller (connect failure)"])
    assert run(["-n", "x"], capsys) == (
        1, ["scancel: error: slurm_load_jobs error: Unable to contact slurm controller (connect failure)"])


def test_controller_refuses_whole_request(ctld, capsys):
    def refuse(op, args):
        raise Refuse("ACCESS_DENIED", "")
    ctld.answer = refuse
    assert run(["5"], capsys) == (210, ["scancel: error: Kill job error on job id 5: Access/permission denied"])


def test_help_and_usage(ctld, capsys):
    code, lines = run(["--help"], capsys)
    assert code == 0 and lines[0] == "Usage: scancel [OPTIONS] [job_id[_array_id][.step_id]]"
    code, lines = run(["--usage"], capsys)
    assert code == 0 and lines[0].startswith("Usage: scancel [-A account]")


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("0123456789_.[]-*, abs")), max_size=10), max_size=4))
def test_id_parsing_never_crashes(words):
    try:
        request = scancel.parse_args(words, {})
    except scancel.ScancelExit as stop:
        assert stop.exit_code == 1 and stop.lines
    else:
        assert all(job_id > 0 for _, job_id, _ in request.tokens)
