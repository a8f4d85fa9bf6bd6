"""build_spec: everything sbatch decides before talking to the controller."""
from __future__ import annotations

import dataclasses

import pytest

from commands.sbatch import SbatchExit, build_spec, build_submission, export_environment
from sdk.records import JobSpec

SCRIPT = "#!/bin/sh\n#SBATCH -J from_script -p script_part\n#SBATCH -t 10 --mem=1G\nsrun hostname\n"
ENV = {"HOME": "/home/u", "PATH": "/usr/bin:/bin", "SLURM_CONF": "/etc/slurm/slurm.conf", "FOO": "1"}
NOW = 1_700_000_000.0


def spec(argv, env=None, stdin=None, cwd="/work"):
    return build_spec(argv, ENV if env is None else env, cwd, stdin, now=NOW)


def test_wrap_script_and_name():
    result = spec(["--wrap", "echo hi"])
    assert result["script"] == "#!/bin/sh\n# This script was created by sbatch --wrap.\n\necho hi\n"
    assert result["name"] == "wrap"
    assert result["argv"] == []
    assert result["submit_line"] == "sbatch --wrap echo hi"


def test_stdin_script_is_named_sbatch():
    result = spec([], stdin="#!/bin/sh\ntrue\n")
    assert result["name"] == "sbatch" and result["script"] == "#!/bin/sh\ntrue\n"


def test_stdin_may_be_a_callable_read_only_when_needed():
    calls = []
    spec(["--wrap", "x"], stdin=lambda: calls.append(1) or "")
    assert calls == []
    assert spec([], stdin=lambda: "#!/bin/sh\n")["name"] == "sbatch"


def test_script_file_name_args_and_dirs(tmp_path):
    (tmp_path / "job.sh").write_text(SCRIPT)
    result = spec(["job.sh", "a", "-b"], cwd=str(tmp_path))
    assert result["name"] == "from_script"
    assert result["argv"] == ["a", "-b"]
    assert result["work_dir"] == result["submit_dir"] == str(tmp_path)
    assert (result["partition"], result["time_limit_min"], result["mem_per_node_mb"]) == ("script_part", 10, 1024)


def test_script_found_on_path_and_default_name(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "tool.sh").write_text("#!/bin/sh\ntrue\n")
    result = spec(["tool.sh"], env={"PATH": str(bindir)}, cwd=str(tmp_path))
    assert result["name"] == "tool.sh"


def test_dot_relative_script_is_not_searched_on_path(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "tool.sh").write_text("#!/bin/sh\ntrue\n")
    with pytest.raises(SbatchExit) as caught:
        spec(["./tool.sh"], env={"PATH": str(bindir)}, cwd=str(tmp_path))
    assert caught.value.stderr_lines == ("sbatch: error: Unable to open file ./tool.sh",)


def test_precedence_cli_over_env_over_script():
    env = dict(ENV, SBATCH_PARTITION="env_part", SBATCH_JOB_NAME="env_name", SBATCH_TIMELIMIT="20")
    result = spec(["-p", "cli_part"], env=env, stdin=SCRIPT)
    assert (result["partition"], result["name"], result["time_limit_min"]) == ("cli_part", "env_name", 20)
    assert spec([], env=env, stdin=SCRIPT)["partition"] == "env_part"


def test_no_sbatch_nodes_variable():
    result = spec(["--wrap", "x"], env=dict(ENV, SBATCH_NODES="4", SBATCH_NTASKS="4"))
    assert "min_nodes" not in result and "ntasks" not in result


def test_last_value_wins_within_a_source():
    result = spec(["-J", "a", "--job-name=b", "--wrap", "x"])
    assert result["name"] == "b"


def test_directive_continues_on_next_line():
    # Slurm gathers all directive words into one argv: '#SBATCH -J' takes the next line's word
    result = spec([], stdin="#!/bin/sh\n#SBATCH -J\n#SBATCH x\ntrue\n")
    assert result["name"] == "x"


def test_directives_stop_at_first_command():
    text = "#!/bin/sh\n#SBATCH -J first\n\n  # indented\n  #SBATCH -J indented\n#SBATCH -p gpu\necho x\n#SBATCH -J after\n"
    result = spec([], stdin=text)
    assert (result["name"], result["partition"]) == ("first", "gpu")


def test_slurm_prefix_warns():
    submission = build_submission([], ENV, "/work", "#!/bin/sh\n#SLURM -J two\ntrue\n", now=NOW)
    assert submission.spec["name"] == "two"
    assert submission.warnings == ["sbatch: error: Change from #SLURM to #SBATCH in your script and verify "
                                   "the options are valid in sbatch"]


@pytest.mark.parametrize("argv, fields", [
    (["-N", "2"], {"min_nodes": 2, "max_nodes": 0, "nodes_set": True}),
    (["-N", "2-4"], {"min_nodes": 2, "max_nodes": 4}),
    (["-N", "-2"], {"min_nodes": 1, "max_nodes": 2}),
    (["-N", "3k"], {"min_nodes": 3072}),
    (["-n4", "-c2"], {"ntasks": 4, "ntasks_set": True, "cpus_per_task": 2, "cpus_per_task_set": True}),
    (["--ntasks-per-node=2"], {"ntasks_per_node": 2}),
    (["--tasks-per-node=3"], {"ntasks_per_node": 3}),
    (["--mem=4G"], {"mem_per_node_mb": 4096}),
    (["--mem=0"], {"mem_per_node_mb": 0}),
    (["--mem-per-cpu=1025K"], {"mem_per_cpu_mb": 2}),
    (["--gres=gpu:a100:2"], {"gres": "gpu:a100:2"}),
    (["-G", "a100:4", "--gpus-per-node=2"], {"gpus": "a100:4", "gpus_per_node": "2"}),
    (["-t", "1-00:00:00"], {"time_limit_min": 1440}),
    (["-t", "60:15"], {"time_limit_min": 61}),
    (["-t", "UNLIMITED"], {"time_limit_min": 0}),
    (["-t", "0"], {"time_limit_min": 0}),
    (["-o", "out-%j", "-e", "err", "-i", "in"], {"stdout": "out-%j", "stderr": "err", "stdin": "in"}),
    (["-D", "sub"], {"work_dir": "/work/sub", "submit_dir": "/work"}),
    (["-D", "/abs"], {"work_dir": "/abs"}),
    (["-H"], {"hold": True}),
    (["-A", "acct", "-q", "high", "--comment=c"], {"account": "acct", "qos": "high", "comment": "c"}),
    (["--nice"], {"nice": 100}),
    (["--nice=5"], {"nice": 5}),
    (["--nice=-5"], {"nice": -5}),
    (["--nice=abc"], {"nice": 0}),  # Slurm 22.05 takes a non-number as 0 (strtol)
    (["--exclusive"], {"exclusive": True}),
    (["--exclusive=user"], {"exclusive": True}),
    (["-w", "n[1-2]", "-x", "n3", "-C", "a&b"], {"nodelist": "n[1-2]", "exclude": "n3", "constraint": "a&b"}),
    (["--requeue"], {"requeue": True}),
    (["--requeue", "--no-requeue"], {"requeue": False}),
    (["-d", "afterok:12"], {"dependency": "afterok:12"}),
    (["--open-mode=APPEND"], {"open_mode": "append"}),
    (["--kill-on-invalid-dep=yes"], {"kill_on_invalid_dep": True}),
    (["--begin=now+60"], {"begin_time": int(NOW) + 60}),
    (["--mail-type=ALL", "--signal=B:USR1@60", "-v", "--reservation=r"], {}),  # accepted, ignored
])
def test_option_fields(argv, fields):
    result = spec([*argv, "--wrap", "x"])
    for key, value in fields.items():
        assert result[key] == value, key


def test_only_set_fields_are_sent_and_all_are_jobspec_fields():
    names = {f.name for f in dataclasses.fields(JobSpec)}
    plain = spec(["--wrap", "x"])
    assert set(plain) == {"script", "name", "argv", "work_dir", "submit_dir", "submit_host", "environment",
                          "export", "submit_line"}
    busy = spec(["-N2", "-n4", "-c2", "--mem=1G", "-t5", "-p", "p", "-H", "--parsable", "-Q", "--nice",
                 "--exclusive", "--requeue", "--begin=now", "-d", "1", "-w", "n1", "--gres=gpu:1", "--wrap", "x"])
    assert set(busy) <= names
    JobSpec.from_wire(busy)  # the controller's decoder takes it


def test_nodelist_file(tmp_path):
    (tmp_path / "hosts").write_text("n1\nn2 n3\n")
    assert spec(["-w", "./hosts", "--wrap", "x"], cwd=str(tmp_path))["nodelist"] == "n1,n2,n3"


def test_parsable_and_quiet_are_not_sent():
    submission = build_submission(["--parsable", "-Q", "--wrap", "x"], ENV, "/w", None, now=NOW)
    assert submission.parsable and submission.quiet
    assert "parsable" not in submission.spec and "quiet" not in submission.spec and "wrap" not in submission.spec


def test_memory_from_environment_yields_to_other_kind_from_script():
    # SBATCH_MEM_PER_NODE=1G sbatch -H mpc.sh   (script: --mem-per-cpu=100) -> MinMemoryCPU=100M
    result = spec([], env=dict(ENV, SBATCH_MEM_PER_NODE="1G"), stdin="#!/bin/sh\n#SBATCH --mem-per-cpu=100\n")
    assert result["mem_per_cpu_mb"] == 100 and "mem_per_node_mb" not in result
    # SBATCH_MEM_PER_NODE=1G sbatch -H --mem-per-cpu=100 --wrap true -> accepted
    result = spec(["--mem-per-cpu=100", "--wrap", "x"], env=dict(ENV, SBATCH_MEM_PER_NODE="1G"))
    assert result["mem_per_cpu_mb"] == 100 and "mem_per_node_mb" not in result
    # sbatch --mem=1G --mem=2G -> the last one
    assert spec(["--mem=1G", "--mem=2G", "--wrap", "x"])["mem_per_node_mb"] == 2048


def test_env_flags():
    assert spec(["--wrap", "x"], env=dict(ENV, SBATCH_REQUEUE="1"))["requeue"] is True
    assert "requeue" not in spec(["--wrap", "x"], env=dict(ENV, SBATCH_REQUEUE="0"))
    assert spec(["--requeue", "--wrap", "x"], env=dict(ENV, SBATCH_NO_REQUEUE="yes"))["requeue"] is True
    assert spec(["--wrap", "x"], env=dict(ENV, SBATCH_EXCLUSIVE=""))["exclusive"] is True


@pytest.mark.parametrize("export, expected", [
    ("ALL", ENV),
    ("NONE", {"SLURM_CONF": "/etc/slurm/slurm.conf"}),
    ("NIL", {"SLURM_CONF": "/etc/slurm/slurm.conf"}),
    ("ALL,BAR=2", {**ENV, "BAR": "2"}),
    ("FOO,BAR=x=y", {"SLURM_CONF": "/etc/slurm/slurm.conf", "FOO": "1", "BAR": "x=y"}),
    ("MISSING", {"SLURM_CONF": "/etc/slurm/slurm.conf"}),
])
def test_export_environment(export, expected):
    assert export_environment(export, ENV) == expected


def test_export_is_sent_raw_with_its_environment():
    result = spec(["--export=NONE", "--wrap", "x"])
    # sbatch adds SLURM_JOB_NAME itself (observed in the job of `sbatch --export=NONE job.sh`)
    assert result["export"] == "NONE" and result["environment"] == {"SLURM_CONF": "/etc/slurm/slurm.conf",
                                                                    "SLURM_JOB_NAME": "wrap"}
    result = spec(["--wrap", "x"], env=dict(ENV, SBATCH_EXPORT="FOO"))
    assert result["export"] == "FOO" and result["environment"] == {"SLURM_CONF": "/etc/slurm/slurm.conf", "FOO": "1",
                                                                   "SLURM_JOB_NAME": "wrap"}
    assert spec(["--wrap", "x"])["export"] == "ALL"


def test_help_in_a_directive_is_inert():
    assert spec([], stdin="#!/bin/sh\n#SBATCH --help -V -J h\n")["name"] == "h"


def test_option_errors_come_before_script_errors():
    with pytest.raises(SbatchExit) as caught:
        spec(["-t", "bad"], stdin="")
    assert caught.value.stderr_lines == ("sbatch: error: Invalid --time specification",)
