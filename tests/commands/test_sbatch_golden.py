"""sbatch's messages and exit codes for bad options, values and scripts, compared with what
Slurm 22.05.8's /usr/bin/sbatch printed (stdout and stderr together, in order) for the same
command. None of these reach a controller: Slurm reports them before connecting, and so do we
(SLURM_CONF points at a socket nobody listens on, with no connect retries)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from commands import sbatch

TRY = 'Try "sbatch --help" for more information'
NOT_A_SCRIPT = [
    "sbatch: error: This does not look like a batch script.  The first",
    "sbatch: error: line must start with #! followed by the path to an interpreter.",
    "sbatch: error: For instance: #!/bin/sh",
]

SCRIPTS = {
    "empty.sh": "",
    "ws.sh": "  \n\t\n",
    "noshebang.sh": "echo hi\n",
    "nul.sh": "#!/bin/sh\necho a\0b\n",
    "crlf.sh": "#!/bin/sh\r\necho hi\r\n",
    "baddir.sh": "#!/bin/sh\n#SBATCH --foo\ntrue\n",
    "unmatched.sh": '#!/bin/sh\n#SBATCH -J "abc\ntrue\n',
    "d12.sh": "#!/bin/sh\n#SBATCH -J 'unterminated\ntrue\n",
    "badval.sh": "#!/bin/sh\n#SBATCH -t foo\ntrue\n",
    "d1.sh": "#!/bin/sh\n#SBATCH foo\ntrue\n",
    "d2.sh": "#!/bin/sh\n#SBATCH -J a foo bar\ntrue\n",
    "d3.sh": "#!/bin/sh\n#SBATCH -J 'my job' -o out\\ file # comment\n#SBATCH --comment=\"a b\"c'd'\ntrue\n",
    "d9.sh": '#!/bin/sh\n#SBATCH -o "a\\ b" -J "x\\"y" -e a\\\\ b\ntrue\n',
    "d13.sh": "#!/bin/sh\n#SBATCHfoo\ntrue\n",
    "emptyq.sh": '#!/bin/sh\n#SBATCH --comment "" -J emptyq\ntrue\n',
    "memscript.sh": "#!/bin/sh\n#SBATCH --mem=1G\ntrue\n",
    "slurmbad.sh": "#!/bin/sh\n#SLURM -J x\n#SBATCH --foo\ntrue\n",
}

GOLDEN = [
    # (argv, extra environment, expected output lines, exit code); the comment is the Slurm command
    (["--foo"], {}, ["sbatch: unrecognized option '--foo'", TRY], 255),                 # sbatch --foo
    (["-y"], {}, ["sbatch: invalid option -- 'y'", TRY], 255),                          # sbatch -y
    (["-p"], {}, ["sbatch: option requires an argument -- 'p'", TRY], 255),             # sbatch -p
    (["--partition"], {}, ["sbatch: option '--partition' requires an argument", TRY], 255),
    (["--pa", "x"], {}, ["sbatch: option '--pa' is ambiguous; possibilities: '--parsable' '--partition'", TRY], 255),
    (["--hold=x"], {}, ["sbatch: option '--hold' doesn't allow an argument", TRY], 255),  # sbatch --hold=x
    (["-Hp"], {}, ["sbatch: option requires an argument -- 'p'", TRY], 255),            # sbatch -Hp
    (["-t", "foo", "--wrap", "true"], {}, ["sbatch: error: Invalid --time specification"], 255),
    (["-H", "-t", " 5", "--wrap", "true"], {}, ["sbatch: error: Invalid --time specification"], 255),
    (["--mem=10X", "--wrap", "true"], {}, ["sbatch: error: Invalid --mem specification"], 255),
    (["--mem=abc", "--wrap", "true"], {}, ["sbatch: error: Invalid --mem specification"], 255),
    (["--mem-per-cpu=10X", "--wrap", "true"], {}, ["sbatch: error: Invalid --mem-per-cpu specification"], 255),
    (["-c", "abc", "--wrap", "true"], {}, ['sbatch: error: Invalid numeric value "abc" for --cpus-per-task.'], 1),
    (["-c", "0", "--wrap", "true"], {}, ['sbatch: error: Invalid numeric value "0" for --cpus-per-task.'], 1),
    (["-n", "abc", "--wrap", "true"], {}, ['sbatch: error: Invalid numeric value "abc" for --ntasks.'], 1),
    (["-n", "-1", "--wrap", "true"], {}, ['sbatch: error: Invalid numeric value "-1" for --ntasks.'], 1),
    (["--ntasks-per-node=0", "--wrap", "true"], {},
     ['sbatch: error: Invalid numeric value "0" for --ntasks-per-node.'], 1),
    (["-N", "abc", "--wrap", "true"], {}, ['sbatch: error: "abc" is not a valid node count'], 255),
    (["-N", "2-1", "--wrap", "true"], {},
     ["sbatch: error: Maximum node count 1 is less than minimum node count 2"], 255),
    (["-N", "2-", "--wrap", "true"], {},
     ["sbatch: error: Maximum node count -1 is less than minimum node count 2"], 255),
    (["-N", "1-2-3", "--wrap", "true"], {}, ['sbatch: error: "2-3" is not a valid node count'], 255),
    (["-N", "1.5", "--wrap", "true"], {}, ['sbatch: error: "1.5" is not a valid node count'], 255),
    (["-N", "", "--wrap", "true"], {}, ['sbatch: error: "" is not a valid node count'], 255),
    (["--mem=1G", "--mem-per-cpu=1G", "--wrap", "true"], {},
     ["sbatch: fatal: --mem, --mem-per-cpu, and --mem-per-gpu are mutually exclusive."], 1),
    (["-H", "--mem-per-cpu=100", "memscript.sh"], {},
     ["sbatch: fatal: --mem, --mem-per-cpu, and --mem-per-gpu are mutually exclusive."], 1),
    (["-H", "--wrap", "true"], {"SBATCH_MEM_PER_NODE": "1G", "SBATCH_MEM_PER_CPU": "1G"},
     ["sbatch: fatal: SLURM_MEM_PER_CPU, SLURM_MEM_PER_GPU, and SLURM_MEM_PER_NODE are mutually exclusive."], 1),
    (["--wrap", "true", "a", "b"], {}, ["sbatch: error: Script arguments not permitted with --wrap option"], 1),
    (["--nice=99999999999", "--wrap", "true"], {},
     ["sbatch: error: Invalid --nice value, out of range (+/- 2147483645)"], 255),
    (["--open-mode=foo", "--wrap", "true"], {}, ["sbatch: error: Invalid --open-mode specification"], 255),
    (["--exclusive=foo", "--wrap", "true"], {}, ["sbatch: error: Invalid --exclusive specification"], 255),
    (["--kill-on-invalid-dep=x", "--wrap", "true"], {},
     ["sbatch: error: Invalid --kill-on-invalid-dep specification"], 255),
    (["--gres=gpu:x:y:z", "--wrap", "true"], {}, ["sbatch: error: Invalid generic resource (gres) specification"], 1),
    (["-H", "--wrap", "true"], {"SBATCH_TIMELIMIT": "foo"}, ["sbatch: error: Invalid --time specification"], 255),
    (["-H", "--wrap", "true"], {"SBATCH_MEM_PER_NODE": "abc"}, ["sbatch: error: Invalid --mem specification"], 255),
    (["-H", "empty.sh"], {}, ["sbatch: error: Batch script is empty!"], 1),             # sbatch -H empty.sh
    (["-H", "ws.sh"], {}, ["sbatch: error: Batch script contains only whitespace!"], 1),
    (["-H", "noshebang.sh"], {}, NOT_A_SCRIPT, 1),
    (["-H", "nul.sh"], {}, ["sbatch: error: The Slurm controller does not allow scripts that",
                            "sbatch: error: contain a NULL character '\\0'."], 1),
    (["-H", "crlf.sh"], {}, ["sbatch: error: Batch script contains DOS line breaks (\\r\\n)",
                             "sbatch: error: instead of expected UNIX line breaks (\\n)."], 1),
    (["-H", "nonexist.sh"], {}, ["sbatch: error: Unable to open file nonexist.sh"], 1),
    (["-H", "nonexist.sh", "-J", "foo"], {}, ["sbatch: error: Unable to open file nonexist.sh"], 1),
    (["-H", "--", "nonexist.sh"], {}, ["sbatch: error: Unable to open file nonexist.sh"], 1),
    (["-H", "baddir.sh"], {}, ["sbatch: unrecognized option '--foo'", TRY], 255),
    (["-H", "unmatched.sh"], {}, ['sbatch: fatal: unmatched.sh: line 2: Unmatched `"` in [ "abc]'], 1),
    (["-H", "d12.sh"], {}, ["sbatch: fatal: d12.sh: line 2: Unmatched `'` in [ 'unterminated]"], 1),
    (["-H", "badval.sh"], {}, ["sbatch: error: Invalid --time specification"], 255),
    (["-H", "-t", "bad", "baddir.sh"], {}, ["sbatch: error: Invalid --time specification"], 255),
    (["-H", "d1.sh"], {}, ["sbatch: error: Invalid directive found in batch script: foo"], 255),
    (["-H", "d2.sh"], {}, ["sbatch: error: Invalid directive found in batch script: foo"], 255),
    (["-H", "d3.sh"], {}, ["sbatch: error: Invalid directive found in batch script: file"], 255),
    (["-H", "d9.sh"], {}, ["sbatch: error: Invalid directive found in batch script: b"], 255),
    (["-H", "d13.sh"], {}, ["sbatch: error: Invalid directive found in batch script: foo"], 255),
    (["-H", "emptyq.sh"], {}, ["sbatch: option '--comment' requires an argument", TRY], 255),
    (["-H", "slurmbad.sh"], {}, ["sbatch: error: Change from #SLURM to #SBATCH in your script and verify the "
                                 "options are valid in sbatch", "sbatch: unrecognized option '--foo'", TRY], 255),
    # the options recorded in the job (observed on /usr/bin/sbatch 22.05.8, same commands)
    (["--signal=FOO", "--wrap", "true"], {}, ["sbatch: error: Invalid --signal specification"], 255),
    (["--signal=0", "--wrap", "true"], {}, ["sbatch: error: Invalid --signal specification"], 255),
    (["--signal=USR1@65536", "--wrap", "true"], {}, ["sbatch: error: Invalid --signal specification"], 255),
    (["--signal=B:USR1@abc", "--wrap", "true"], {}, ["sbatch: error: Invalid --signal specification"], 255),
    (["--deadline=foo", "--wrap", "true"], {},
     ["Invalid time specification (pos=0): foo", "sbatch: error: Invalid --deadline specification"], 255),
    (["--begin=foo", "--wrap", "true"], {},
     ["Invalid time specification (pos=0): foo", "sbatch: error: Invalid --begin specification"], 255),
    (["--begin=12:00 foo", "--wrap", "true"], {},
     ["Invalid time specification (pos=6): 12:00 foo", "sbatch: error: Invalid --begin specification"], 255),
    (["--deadline=now+1x", "--wrap", "true"], {},
     ["Invalid time specification (pos=4): now+1x", "sbatch: error: Invalid --deadline specification"], 255),
    (["--mail-type=FOO", "--wrap", "true"], {}, ["sbatch: error: Invalid --mail-type specification"], 255),
    (["--mail-type=,", "--wrap", "true"], {}, ["sbatch: error: Invalid --mail-type specification"], 255),
    (["--priority=-5", "--wrap", "true"], {}, ["sbatch: error: Priority must be >= 0"], 255),
    (["--priority=4294967294", "--wrap", "true"], {}, ["sbatch: error: Priority must be < 4294967294"], 255),
    (["--open-mode=foo", "--wrap", "true"], {}, ["sbatch: error: Invalid --open-mode specification"], 255),
    (["--cpus-per-gpu=abc", "--wrap", "true"], {}, ['sbatch: error: Invalid numeric value "abc" for --cpus-per-gpu.'], 1),
    (["--mem-per-gpu=abc", "--wrap", "true"], {}, ["sbatch: error: Invalid --mem-per-gpu specification"], 255),
    (["--gpus-per-task=1", "--wrap", "true"], {},
     ["sbatch: error: Failed to validate job spec. --gpus-per-task used without either --gpus or -n/--ntasks "
      "is not allowed.", "sbatch: error: Invalid generic resource (gres) specification"], 1),
    (["--export-file=/nonexist", "--wrap", "true"], {},
     ["sbatch: error: Could not open user environment file /nonexist"], 1),
    (["--time-min=abc", "--wrap", "true"], {}, ["sbatch: error: Invalid --time-min specification"], 255),
    (["--begin=now+2hours", "--deadline=now+1hour", "--wrap", "true"], {},
     ["sbatch: error: Incompatible begin and deadline time specification"], 1),
]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    for name, text in SCRIPTS.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "slurm.conf").write_text(f"SlurmctldSocket={tmp_path}/nobody.sock\n")
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith("SBATCH_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("SLURM_CONF", str(tmp_path / "slurm.conf"))
    monkeypatch.setattr(sbatch, "CONNECT_RETRY_DELAYS", ())
    monkeypatch.setattr(sbatch, "_read_stdin", lambda: "")
    return tmp_path


def run(argv, capsys):
    code = sbatch.main(argv)
    captured = capsys.readouterr()
    return code, (captured.out + captured.err).splitlines()


@pytest.mark.parametrize("argv, env, expected, code", GOLDEN, ids=[" ".join(g[0]) for g in GOLDEN])
def test_golden_errors(workdir, monkeypatch, capsys, argv, env, expected, code):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert run(argv, capsys) == (code, expected)


def test_stdin_unmatched_quote_names_stdin(workdir, monkeypatch, capsys):
    # printf '#!/bin/sh\n#SBATCH -J "abc\ntrue\n' | sbatch -H
    monkeypatch.setattr(sbatch, "_read_stdin", lambda: '#!/bin/sh\n#SBATCH -J "abc\ntrue\n')
    assert run(["-H"], capsys) == (1, ['sbatch: fatal: stdin: line 2: Unmatched `"` in [ "abc]'])


def test_empty_stdin(workdir, capsys):
    assert run(["-H"], capsys) == (1, ["sbatch: error: Batch script is empty!"])  # sbatch -H </dev/null


def test_directory_reads_as_empty_script(workdir, capsys):
    assert run(["-H", str(workdir)], capsys) == (1, ["sbatch: error: Batch script is empty!"])  # sbatch -H /tmp


def test_version_and_help(workdir, capsys):
    assert run(["-V"], capsys) == (0, ["slurm-wlm 22.05.8"])   # /usr/bin/sbatch -V
    code, lines = run(["--help"], capsys)
    assert code == 0 and lines[0] == "Usage: sbatch [OPTIONS(0)...] [ : [OPTIONS(N)...]] script(0) [args(0)...]"
    code, lines = run(["--usage"], capsys)
    assert code == 0 and lines[0] == "Usage: sbatch [-N nnodes] [-n ntasks]"


def test_slurm_exit_error_overrides_exit_code(workdir, monkeypatch, capsys):
    monkeypatch.setenv("SLURM_EXIT_ERROR", "7")
    assert run(["-H", "empty.sh"], capsys) == (7, ["sbatch: error: Batch script is empty!"])


def test_unsupported_option_is_refused_not_ignored(workdir, capsys):
    code, lines = run(["-M", "other", "--wrap", "true"], capsys)
    assert code == 1 and lines == ["sbatch: error: --clusters is not supported by this scheduler yet"]


@pytest.mark.parametrize("argv, env, expected", [
    (["--array=0-15"], {}, "0-15"),
    (["-a", "1,3,5-7"], {}, "1,3,5-7"),
    (["-a0-20:4"], {}, "0-20:4"),
    (["--arr=0-9%2"], {}, "0-9%2"),
    ([], {"SBATCH_ARRAY_INX": "3-4"}, "3-4"),
    (["-a", "0-1"], {"SBATCH_ARRAY_INX": "3-4"}, "0-1"),   # the command line wins (observed: tasks 0,1)
])
def test_array_is_passed_to_the_controller_as_given(workdir, argv, env, expected):
    # Slurm's sbatch checks nothing here: `sbatch --array=abc` fails only at the controller
    spec = sbatch.build_spec([*argv, "--wrap", "true"], {"PATH": "/usr/bin", **env}, str(workdir))
    assert spec["array"] == expected


def test_console_script_reports_errors_without_a_controller(workdir):
    # the installed entry point: getopt errors need no controller and exit 255
    result = subprocess.run([sys.executable, "-c", "import sys; from commands.sbatch import main; sys.exit(main())",
                             "--foo"], capture_output=True, text=True, timeout=30)
    assert (result.returncode, result.stdout, result.stderr) == (255, "", f"sbatch: unrecognized option '--foo'\n{TRY}\n")
