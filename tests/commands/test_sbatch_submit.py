"""sbatch against a fake controller: what goes on the wire, what is printed, retries."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from commands import sbatch
from tests.commands.fake_ctld_submit import FakeController, Refuse


def submit_ok(op, args):
    assert op == "submit"
    return {"job_ids": [41 + len(args["jobs"])]}


@pytest.fixture
def ctld(tmp_path, monkeypatch):
    controller = FakeController(tmp_path, submit_ok)
    with controller:
        for key, value in controller.env().items():
            monkeypatch.setenv(key, value)
        for key in list(os.environ):
            if key.startswith("SBATCH_"):
                monkeypatch.delenv(key)
        monkeypatch.chdir(tmp_path)
        monkeypatch.setattr(sbatch, "CONNECT_RETRY_DELAYS", (0.0, 0.0, 0.0))
        yield controller


def run(argv, capsys):
    code = sbatch.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_submitted_line_and_wire_request(ctld, capsys):
    assert run(["-p", "cpu", "-t", "5", "--wrap", "hostname"], capsys) == (0, "Submitted batch job 42\n", "")
    (request,) = ctld.requests
    assert request["v"] == 1 and request["op"] == "submit"
    args = request["args"]
    key = args["keys"][0]
    assert len(key) == 32 and int(key, 16) >= 0
    (job,) = args["jobs"]
    assert (job["partition"], job["time_limit_min"], job["name"]) == ("cpu", 5, "wrap")
    assert job["environment"]["SLURM_CONF"] == ctld.conf_path
    assert job["submit_dir"] == job["work_dir"] == os.getcwd()


def test_parsable_and_quiet(ctld, capsys):
    assert run(["--parsable", "--wrap", "x"], capsys) == (0, "42\n", "")
    assert run(["-Q", "--wrap", "x"], capsys) == (0, "", "")


def test_each_submission_has_a_fresh_key(ctld, capsys):
    run(["--wrap", "x"], capsys)
    run(["--wrap", "x"], capsys)
    assert ctld.requests[0]["args"]["keys"] != ctld.requests[1]["args"]["keys"]


def test_retry_after_dropped_connection_reuses_the_key(ctld, capsys):
    ctld.drop_first = 2  # the controller reads the request, then dies before answering, twice
    assert run(["--wrap", "x"], capsys) == (0, "Submitted batch job 42\n", "")
    keys = [r["args"]["keys"][0] for r in ctld.requests]
    assert len(keys) == 3 and len(set(keys)) == 1


def test_controller_refusal_prints_slurm_error(ctld, capsys):
    # sbatch -p nope --wrap true (Slurm 22.05):
    #   sbatch: error: invalid partition specified: nope
    #   sbatch: error: Batch job submission failed: Invalid partition name specified
    expected = (1, "", ("sbatch: error: invalid partition specified: nope\n"
                        "sbatch: error: Batch job submission failed: Invalid partition name specified\n"))

    def refuse(op, args):
        raise Refuse("INVALID_PARTITION_NAME", "",
                     detail=f"invalid partition specified: {args['jobs'][0]['partition']}")
    ctld.answer = refuse
    assert run(["-p", "nope", "--wrap", "true"], capsys) == expected

    def refuse_in_message(op, args):  # the explanation in the message instead of the detail
        raise Refuse("INVALID_PARTITION_NAME", f"invalid partition specified: {args['jobs'][0]['partition']}")
    ctld.answer = refuse_in_message
    assert run(["-p", "nope", "--wrap", "true"], capsys) == expected


def test_controller_refusal_with_plain_text(ctld, capsys):
    # sbatch -N 0 --wrap true: sbatch: error: Batch job submission failed: Node count specification invalid
    def refuse(op, args):
        raise Refuse("INVALID_NODE_COUNT", "")
    ctld.answer = refuse
    assert run(["-N", "0", "--wrap", "true"], capsys) == (
        1, "", "sbatch: error: Batch job submission failed: Node count specification invalid\n")


def test_unreachable_controller(tmp_path, monkeypatch, capsys):
    (tmp_path / "slurm.conf").write_text(f"SlurmctldSocket={tmp_path}/nobody.sock\n")
    monkeypatch.setenv("SLURM_CONF", str(tmp_path / "slurm.conf"))
    monkeypatch.setattr(sbatch, "CONNECT_RETRY_DELAYS", (0.0,))
    assert run(["--wrap", "x"], capsys) == (
        1, "", "sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)\n")


def test_malformed_reply(ctld, capsys):
    ctld.answer = lambda op, args: {"nothing": 1}
    code, out, err = run(["--wrap", "x"], capsys)
    assert code == 1 and out == "" and "Batch job submission failed" in err


def test_errors_never_connect(ctld, capsys):
    assert run(["-t", "bad", "--wrap", "x"], capsys)[0] == 255
    assert run(["-H", "missing.sh"], capsys)[0] == 1
    assert ctld.requests == []


def test_console_entry_point_end_to_end(ctld):
    # the real process: stdin script, exit status, stdout
    result = subprocess.run([sys.executable, "-c", "import sys; from commands.sbatch import main; sys.exit(main())",
                             "-J", "piped"], input="#!/bin/sh\n#SBATCH -t 3\ntrue\n", capture_output=True,
                            text=True, timeout=30, env=dict(os.environ))
    assert (result.returncode, result.stdout, result.stderr) == (0, "Submitted batch job 42\n", "")
    job = ctld.requests[-1]["args"]["jobs"][0]
    assert (job["name"], job["time_limit_min"], job["script"]) == ("piped", 3, "#!/bin/sh\n#SBATCH -t 3\ntrue\n")


# (datetime is not listed: msgpack itself imports it for its Timestamp type)
_FORBIDDEN = ("dataclasses", "enum", "re", "typing", "argparse", "click", "uuid", "sdk.records", "sdk.client",
              "conf.timefmt", "conf.units")


def test_hot_path_imports_stay_lean(ctld):
    # a typical script (time, memory, cpus, partition) must not pull in the slow modules
    with open("job.sh", "w") as handle:
        handle.write("#!/bin/bash\n#SBATCH -J job -t 1:00:00 --mem=4G -c 4 -p cpu -o out-%j.txt\nsrun hostname\n")
    code = ("import sys; before = set(sys.modules); from commands.sbatch import main; rc = main(['job.sh']); "
            "print(' '.join(sorted(set(sys.modules) - before)), file=sys.stderr); sys.exit(rc)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30,
                            env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    loaded = set(result.stderr.split())
    assert not loaded & set(_FORBIDDEN), loaded & set(_FORBIDDEN)


def test_undecodable_environment_is_sent_with_replacement_characters(ctld, capsys, monkeypatch):
    monkeypatch.setenv("ODD", "a\udcffb")  # os.environ's spelling of the byte 0xff
    assert run(["--wrap", "x"], capsys)[0] == 0
    assert ctld.requests[-1]["args"]["jobs"][0]["environment"]["ODD"] == "a\ufffdb"


def test_retries_exhausted_print_only_slurms_line(ctld, capsys):
    ctld.drop_first = 10
    assert run(["--wrap", "x"], capsys) == (
        1, "", "sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)\n")
    assert len({r["args"]["keys"][0] for r in ctld.requests}) == 1


def test_unreadable_slurm_conf_is_slurms_error_not_a_traceback(tmp_path):
    # Slurm 22.05 here: `SLURM_CONF=/nonexistent sbatch --wrap true` prints
    # "sbatch: error: s_p_parse_file: cannot stat file /nonexistent: No such file or directory"
    # (then retries for 60 s and ends with "sbatch: fatal: Unable to process configuration file")
    import subprocess
    import sys as _sys
    missing = str(tmp_path / "nonexistent.conf")
    for extra in ([], ["--test-only"], ["-W"]):
        proc = subprocess.run([_sys.executable, "-m", "commands.sbatch", *extra, "--wrap", "true"],
                              capture_output=True, text=True, env={**os.environ, "SLURM_CONF": missing},
                              cwd=str(tmp_path))
        assert proc.returncode == 1
        assert proc.stderr == (f"sbatch: error: s_p_parse_file: cannot stat file {missing}: "
                               "No such file or directory\nsbatch: fatal: Unable to process configuration file\n")


@pytest.mark.parametrize(("argv", "code", "out", "err"), [
    # Slurm 22.05 here: `sbatch --gres=help --wrap true` and `sbatch -L foo --wrap true`
    (["--gres=help"], 0, "Valid gres options are:\ngpu[[:type]:count]\n", ""),
    (["-L", "foo"], 1, "", "sbatch: error: Batch job submission failed: Invalid license specification\n"),
])
def test_gres_help_and_licenses(tmp_path, argv, code, out, err):
    proc = subprocess.run([sys.executable, "-m", "commands.sbatch", *argv, "--wrap", "true"],
                          capture_output=True, text=True, cwd=str(tmp_path),
                          env={**os.environ, "SLURM_CONF": str(tmp_path / "none.conf")})
    assert (proc.returncode, proc.stdout, proc.stderr) == (code, out, err)
