"""srun's and salloc's own logic, without a controller: options, output, exit reports.
Expected texts were observed on Slurm 22.05's srun (/usr/bin/srun on this machine)."""
import os

import pytest

from commands import salloc, srun
from sdk.steps import TaskExited


def run_sink(ntasks, label, unbuffered, writes, tmp_path):
    """Feed an OutputSink and return what reached 'stdout' (a file standing in for fd 1)."""
    path = tmp_path / "out"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    sink = srun.OutputSink(ntasks, label, unbuffered)
    try:
        for task, data in writes:
            sink.write(task, fd, data)
        sink.flush()
    finally:
        os.close(fd)
    return path.read_bytes()


def test_label_is_right_aligned_to_the_widest_task(tmp_path):
    # /usr/bin/srun -n12 -l echo y: " 0: y" ... "11: y"
    assert run_sink(12, True, False, [(0, b"y\n"), (11, b"y\n")], tmp_path) == b" 0: y\n11: y\n"


def test_lines_are_kept_whole_unless_unbuffered(tmp_path):
    writes = [(0, b"ab"), (1, b"x\n"), (0, b"c\nd")]
    assert run_sink(2, True, False, writes, tmp_path) == b"1: x\n0: abc\n0: d"
    assert run_sink(2, False, True, writes, tmp_path) == b"abx\nc\nd"
    # /usr/bin/srun -n2 -u -l bash -c 'printf abc; sleep 0.2; printf "def\nghi\n"': "0: abc", "0: def", "0: ghi"
    assert run_sink(2, True, True, [(0, b"abc"), (0, b"def\nghi\n")], tmp_path) == b"0: abc\n0: def\n0: ghi\n"


def test_exit_reports_group_by_node_and_status():
    exits = [TaskExited(0, "n1", 0, 9), TaskExited(1, "n1", 0, 9), TaskExited(2, "n2", 3, 0),
             TaskExited(3, "n2", 0, 0), TaskExited(5, "n1", 0, 9)]
    assert srun.exit_lines(exits) == ["srun: error: n1: tasks 0-1,5: Killed",
                                      "srun: error: n2: task 2: Exited with exit code 3"]
    assert srun.step_exit_code(exits) == 137
    assert srun.step_exit_code([TaskExited(0, "n1", 1, 0), TaskExited(1, "n1", 4, 0)]) == 4
    assert srun.step_exit_code([TaskExited(0, "n1", 0, 0)]) == 0


def test_task_ranges():
    assert srun.task_ranges([3, 0, 1, 2, 7, 9, 10]) == "0-3,7,9-10"


@pytest.mark.parametrize("argv, lines, code", [
    ([], ["srun: fatal: No command given to execute."], 1),
    (["-n", "abc", "true"], ['srun: error: Invalid numeric value "abc" for --ntasks.'], 1),
    (["-n0", "true"], ['srun: error: Invalid numeric value "0" for --ntasks.'], 1),
])
def test_option_errors(argv, lines, code):
    with pytest.raises(salloc.CommandExit) as stop:
        srun.parse_options(argv, {}, "/tmp")
    assert (list(stop.value.lines), stop.value.exit_code) == (lines, code)


def test_options_in_getopt_forms():
    opts, command = srun.parse_options(
        ["-n4", "-N", "2", "--cpus-per=2", "-lu", "--output=/o/%j_%t.out", "-e", "none", "-J", "x",
         "--jobid=12", "python", "-u", "-m", "mod"], {}, "/tmp")
    assert (opts.ntasks, opts.nodes, opts.cpus_per_task, opts.label, opts.unbuffered) == (4, 2, 2, True, True)
    assert (opts.stdout, opts.stderr, opts.name, opts.jobid) == ("/o/%j_%t.out", "/dev/null", "x", 12)
    assert command == ["python", "-u", "-m", "mod"]      # what follows the command is the command's
    assert opts.fields["min_nodes"] == 2 and opts.fields["ntasks"] == 4


def test_export():
    env = {"A": "1", "B": "2", "SLURM_JOB_ID": "5"}
    assert srun.step_environment("ALL", env) == env
    assert srun.step_environment("NONE", env) == {"SLURM_JOB_ID": "5"}
    assert srun.step_environment("A,C=3", env) == {"A": "1", "C": "3", "SLURM_JOB_ID": "5"}
    assert srun.step_environment("ALL,C=3", env) == dict(env, C="3")


def test_salloc_options(capsys):
    options, command = salloc.SALLOC_TABLE.parse(["-N2", "-n3", "-p", "cpu", "-t", "10", "bash", "-c", "x"],
                                                 stop_at_operand=True)
    fields = salloc.allocation_fields(options, "salloc", "/tmp")
    assert (fields["min_nodes"], fields["ntasks"], fields["partition"], fields["time_limit_min"]) == (2, 3, "cpu", 10)
    assert command == ["bash", "-c", "x"]
    # /usr/bin/salloc -n abc true (exit 1)
    assert salloc.main(["-n", "abc", "true"]) == 1
    assert capsys.readouterr().err == 'salloc: error: Invalid numeric value "abc" for --ntasks.\n'
