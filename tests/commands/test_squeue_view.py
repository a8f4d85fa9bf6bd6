"""squeue: golden text captured from the live Slurm 22.05 here on 2026-11-28, fed through
commands.squeue with equivalent wire records. Jobs (all root, submitted from /tmp/gold):
  5  sbatch -J sleeper --wrap 'sleep 600'                              RUNNING on n2
  7  sbatch -J gpujob -p gpu --gres=gpu:2 -c 2 --mem=1000 -t 30 ...     PENDING (Resources)
  8  sbatch -J held -H -t 1-00:00:00 ...                               PENDING (JobHeldUser)
  9  sbatch -J failer --wrap 'exit 3'                                  FAILED
  10 sbatch -J cancelme ... ; scancel 10                               CANCELLED after 3 s on n1
  11 sbatch -J longname_abcdefghijklmnop -p gpu -N 2 ...               RUNNING on n[3-4]
Outputs were taken 34 s after submission (NOW below).
"""
import os
import subprocess
import sys
import time

import pytest

from commands import squeue

sys.path.insert(0, os.path.dirname(__file__))
from fakectl_views import FakeController, conf_for  # noqa: E402

T0 = int(time.mktime((2026, 11, 28, 15, 27, 54, 0, 0, -1)))
NOW = T0 + 34
BASE = dict(user="root", uid=0, gid=0, group="root", account="root", qos="normal",
            submit_time=T0, work_dir="/tmp/gold", num_nodes=1, num_cpus=1)
JOBS = [
    dict(BASE, job_id=5, name="sleeper", partition="cpu", state="RUNNING", priority=10014,
         start_time=T0 + 2, nodes="n2"),
    dict(BASE, job_id=7, name="gpujob", partition="gpu", state="PENDING", reason="Resources",
         priority=10015, num_cpus=2, time_limit_min=30, tres_per_node="gres:gpu:2",
         mem_per_node_mb=1000, start_time=T0 + 31536002, end_time=T0 + 31537802),
    dict(BASE, job_id=8, name="held", partition="cpu", state="PENDING", reason="JobHeldUser",
         priority=0, time_limit_min=1440),
    dict(BASE, job_id=9, name="failer", partition="cpu", state="FAILED", reason="NonZeroExitCode",
         priority=10014, start_time=T0 + 5, end_time=T0 + 5, nodes="n1"),
    dict(BASE, job_id=10, name="cancelme", partition="cpu", state="CANCELLED", priority=10014,
         start_time=T0 + 7, end_time=T0 + 10, nodes="n1", time_limit_min=525600),
    dict(BASE, job_id=11, name="longname_abcdefghijklmnop", partition="gpu", state="RUNNING",
         priority=10028, start_time=T0 + 13, nodes="n[3-4]", num_nodes=2, num_cpus=2),
]


def run(argv, jobs=JOBS, now=NOW):
    text, errors = squeue.format_jobs(jobs, squeue.parse_options(argv, {}), now)
    return text, errors


def test_default_view():  # squeue -j 5,7,8,9,10,11
    assert run([])[0] == """\
             JOBID PARTITION     NAME     USER ST       TIME  NODES NODELIST(REASON)
                 8       cpu     held     root PD       0:00      1 (JobHeldUser)
                 5       cpu  sleeper     root  R       0:32      1 n2
                 7       gpu   gpujob     root PD       0:00      1 (Resources)
                11       gpu longname     root  R       0:21      2 n[3-4]
"""


def test_all_states_sorted_by_partition_then_compact_state():  # squeue -j ... -t all
    assert run(["-t", "all"])[0] == """\
             JOBID PARTITION     NAME     USER ST       TIME  NODES NODELIST(REASON)
                10       cpu cancelme     root CA       0:03      1 n1
                 9       cpu   failer     root  F       0:00      1 (NonZeroExitCode)
                 8       cpu     held     root PD       0:00      1 (JobHeldUser)
                 5       cpu  sleeper     root  R       0:32      1 n2
                 7       gpu   gpujob     root PD       0:00      1 (Resources)
                11       gpu longname     root  R       0:21      2 n[3-4]
"""


def test_long_view_with_date_line():  # squeue -j ... -l   (TIME_LIMIT really is cut to TIME_LIMI)
    assert run(["-l"])[0] == time.ctime(NOW) + """
             JOBID PARTITION     NAME     USER    STATE       TIME TIME_LIMI  NODES NODELIST(REASON)
                 8       cpu     held     root  PENDING       0:00 1-00:00:00      1 (JobHeldUser)
                 5       cpu  sleeper     root  RUNNING       0:32 UNLIMITED      1 n2
                 7       gpu   gpujob     root  PENDING       0:00     30:00      1 (Resources)
                11       gpu longname     root  RUNNING       0:21 UNLIMITED      2 n[3-4]
"""


def test_noheader():  # squeue -j ... -h
    text = run(["-h"])[0]
    assert text.splitlines()[0] == "                 8       cpu     held     root PD       0:00      1 (JobHeldUser)"


def test_format_natural_widths():  # squeue -j ... -o '%i|%A|...|%N'
    assert run(["-o", "%i|%A|%j|%u|%U|%P|%t|%T|%M|%l|%L|%D|%C|%R|%r|%N"])[0] == """\
JOBID|JOBID|NAME|USER|UID|PARTITION|ST|STATE|TIME|TIME_LIMIT|TIME_LEFT|NODES|CPUS|NODELIST(REASON)|REASON|NODELIST
8|8|held|root|0|cpu|PD|PENDING|0:00|1-00:00:00|1-00:00:00|1|1|(JobHeldUser)|JobHeldUser|
5|5|sleeper|root|0|cpu|R|RUNNING|0:32|UNLIMITED|UNLIMITED|1|1|n2|None|n2
7|7|gpujob|root|0|gpu|PD|PENDING|0:00|30:00|30:00|1|2|(Resources)|Resources|
11|11|longname_abcdefghijklmnop|root|0|gpu|R|RUNNING|0:21|UNLIMITED|UNLIMITED|2|2|n[3-4]|None|n[3-4]
"""


def test_format_more_codes():  # squeue -j ... -t all -o '%.5i%.3t%S|%e|%V|%Q|%p|%b|%m|%E|%Z|%o|%k|%a|%q|%y'
    text = run(["-t", "all", "-o", "%.5i%.3t%S|%e|%V|%Q|%p|%b|%m|%E|%Z|%o|%k|%a|%q|%y"])[0]
    lines = text.splitlines()
    assert lines[0] == ("JOBID STSTART_TIME|END_TIME|SUBMIT_TIME|PRIORITY|PRIORITY|TRES_PER_NODE|"
                        "MIN_MEMORY|DEPENDENCY|WORK_DIR|COMMAND|COMMENT|ACCOUNT|QOS|NICE")
    assert lines[3] == "    8 PDN/A|N/A|2026-11-28T15:27:54|0|0.00000000000000|N/A|0|(null)|/tmp/gold|(null)|(null)|root|normal|0"
    assert lines[4] == ("    5  R2026-11-28T15:27:56|NONE|2026-11-28T15:27:54|10014|0.00000233156607|N/A|0|"
                        "(null)|/tmp/gold|(null)|(null)|root|normal|0")
    assert lines[5].startswith("    7 PD2027-11-28T15:27:56|2027-11-28T15:57:56|2026-11-28T15:27:54|10015|"
                               "0.00000233179890|gres:gpu:2|1000M|")


def test_truncation_rules():  # squeue -o '%.3i|%.3j|%.3M|%.3l|%.3R|%3M|%3l' on 52(R) 53(R, -t 2:00:00) 54(held)
    jobs = [dict(BASE, job_id=53, name="gpuj2", partition="gpu", state="RUNNING", start_time=NOW - 2,
                 time_limit_min=120, nodes="n3"),
            dict(BASE, job_id=54, name="held2", partition="cpu", state="PENDING", reason="JobHeldUser")]
    text = run(["-S", "i", "-o", "%.3i|%.3j|%.3M|%.3l|%.3L|%.3R|%.3N|%3M|%3l"], jobs)[0]
    assert text == """\
JOB|NAM|TIM|TIM|TIM|NODELIST(REASON)|NODELIST|TIM|TIM
 53|gpu|0:02|2:00:00|1:59:58| n3| n3|0:0|2:0
 54|hel|0:00|UNLIMITED|UNLIMITED|(Jo|   |0:0|UNL
"""


def test_unknown_format_letter_is_printed_and_reported():  # squeue -o '%5i%-5j%.5j.'
    text, errors = run(["-o", "%5i%-5j%.5j."])
    assert text.splitlines()[:3] == ["JOBID%-5j NAME.", "8    %-5j held.", "5    %-5jsleep."]
    assert errors == ["squeue: error: Invalid job format specification: -"]


def test_sort_option():  # squeue -j ... -S -t,i
    ids = [line.split()[0] for line in run(["-h", "-S", "-t,i"])[0].splitlines()]
    assert ids == ["5", "11", "7", "8"]
    ids = [line.split()[0] for line in run(["-h", "-S", "i"])[0].splitlines()]
    assert ids == ["5", "7", "8", "11"]


def test_filters():
    ids = lambda argv: [line.split()[0] for line in run(["-h"] + argv)[0].splitlines()]
    assert ids(["-t", "pd"]) == ["8", "7"]               # squeue -t pd
    assert ids(["-p", "gpu"]) == ["7", "11"]             # squeue -p gpu
    assert ids(["-n", "held,gpujob"]) == ["8", "7"]      # squeue -n held,gpujob
    assert ids(["-w", "n3"]) == ["11"]                   # squeue -w n3
    assert ids(["-u", "root"]) == ["8", "5", "7", "11"]
    assert ids(["--me"]) == (["8", "5", "7", "11"] if os.geteuid() == 0 else [])
    assert ids(["--state=F,CA"]) == ["10", "9"]


def test_finished_job_hidden_without_state_filter():  # squeue -j 9 prints only the header
    assert run(["-j", "9"], [JOBS[3]])[0].splitlines() == [
        "             JOBID PARTITION     NAME     USER ST       TIME  NODES NODELIST(REASON)"]


def test_invalid_state_message():  # squeue -t bogus
    with pytest.raises(squeue.UsageError) as info:
        squeue.parse_options(["-t", "bogus"], {})
    assert info.value.lines[0] == "squeue: error: Invalid job state specified: bogus"
    assert info.value.lines[1].startswith("squeue: error: Valid job states include: PENDING,RUNNING,SUSPENDED,")


def test_option_parsing_forms():
    opts = squeue.parse_options(["-hj5,7", "--part=gpu", "-ofoo"], {})
    assert opts.noheader and opts.job_ids == [5, 7] and opts.partitions == {"gpu"} and opts.fmt == "foo"
    assert squeue.parse_options(["-j", "12", "13"], {}).job_ids == [12, 13]   # -j's value is optional
    with pytest.raises(squeue.UsageError) as info:
        squeue.parse_options(["-j", "abc"], {})
    assert info.value.lines == ["squeue: error: Invalid job id: abc"]
    with pytest.raises(squeue.UsageError) as info:
        squeue.parse_options(["--no"], {})
    assert info.value.lines[0].startswith("squeue: option '--no' is ambiguous; possibilities:")
    assert info.value.lines[1] == 'Try "squeue --help" for more information'
    assert squeue.parse_options([], {"SQUEUE_FORMAT": "%i"}).fmt == "%i"


def test_Format_long_names():  # squeue -O JobID,Name
    assert run(["-O", "JobID,Name"])[0].splitlines()[:2] == [
        "JOBID               NAME                ", "8                   held                "]


# ---- end to end through a fake controller --------------------------------------------------

@pytest.fixture
def controller(tmp_path):
    answers = {}
    server = FakeController(str(tmp_path / "ctl.sock"), answers)
    env = dict(os.environ, SLURM_CONF=conf_for(server.path, tmp_path))
    yield answers, env, server
    server.close()


def _squeue(env, *args):
    return subprocess.run([sys.executable, "-m", "commands.squeue", *args], env=env,
                          capture_output=True, text=True, timeout=30)


def test_e2e_default_and_request(controller):
    answers, env, server = controller
    answers["jobs"] = {"jobs": JOBS}
    res = _squeue(env, "-h", "-p", "cpu")
    assert res.returncode == 0, res.stderr
    assert [line.split()[0] for line in res.stdout.splitlines()] == ["8", "5"]
    op, args = server.requests[-1]
    assert op == "jobs" and args["include_finished"] is False and "state" in args["fields"]


def test_e2e_unknown_single_job_id(controller):  # squeue -j 99999
    answers, env, _ = controller
    answers["jobs"] = {"__error__": "INVALID_JOB_ID"}
    res = _squeue(env, "-j", "99999")
    assert (res.returncode, res.stdout, res.stderr) == (
        1, "", "slurm_load_jobs error: Invalid job id specified\n")
    res = _squeue(env, "-j", "99999,99998")   # squeue -j 99999,5: unknown ids in a list are not errors
    assert res.returncode == 0 and res.stdout.startswith("             JOBID")


def test_e2e_controller_down(tmp_path):  # squeue with SlurmctldPort of a dead port
    env = dict(os.environ, SLURM_CONF=conf_for(str(tmp_path / "nobody.sock"), tmp_path))
    res = _squeue(env)
    assert (res.returncode, res.stderr) == (
        1, "slurm_load_jobs error: Unable to contact slurm controller (connect failure)\n")


def test_e2e_version_and_bad_option(tmp_path):
    env = dict(os.environ, SLURM_CONF=str(tmp_path / "none.conf"))
    assert _squeue(env, "-V").stdout == "slurm-wlm 22.05.8\n"
    res = _squeue(env, "-z")   # squeue -z
    assert (res.returncode, res.stderr) == (
        1, "squeue: invalid option -- 'z'\nTry \"squeue --help\" for more information\n")


def test_e2e_invalid_user_is_reported_and_shows_nothing(controller):  # squeue -u nosuchuser
    answers, env, _ = controller
    answers["jobs"] = {"jobs": JOBS}
    res = _squeue(env, "-u", "nosuchuser_xyz")
    assert res.returncode == 0
    assert res.stderr == "squeue: error: Invalid user: nosuchuser_xyz\n\n"
    assert res.stdout.count("\n") == 1


def test_thousand_jobs_format_fast():
    jobs = [dict(BASE, job_id=i, name=f"j{i}", partition="cpu", state="PENDING", reason="Priority",
                 priority=i % 7) for i in range(1, 1001)]
    start = time.perf_counter()
    text, _ = run([], jobs)
    assert text.count("\n") == 1001
    assert time.perf_counter() - start < 0.5   # generous: a loaded 2-core box; ~5 ms normally


def test_iterate_prints_time_queue_and_a_blank_line_each_round(monkeypatch, capsys):
    # Slurm 22.05 here: `squeue -i 1` printed "Sat Nov 28 18:36:32 2026", the header (no jobs),
    # then a blank line, every second; with -h only the blank lines; `-i 0` / `-i x` / `--iterate=-2`
    # print "squeue: error: --iterate=<value>" and a blank line, exit 1.
    from commands import squeue
    rounds = []

    def fake_sleep(seconds):
        rounds.append(seconds)
        if len(rounds) == 2:
            raise KeyboardInterrupt
    monkeypatch.setattr(squeue, "_fetch", lambda opts: [])
    monkeypatch.setattr(squeue.time, "sleep", fake_sleep)
    monkeypatch.setattr(squeue.time, "strftime", lambda fmt: "Sat Nov 28 18:36:32 2026")
    assert squeue.main(["-i", "1"]) == 0
    header = "             JOBID PARTITION     NAME     USER ST       TIME  NODES NODELIST(REASON)\n"
    round_text = "Sat Nov 28 18:36:32 2026\n" + header + "\n"
    assert capsys.readouterr().out == round_text * 2 and rounds == [1, 1]
    rounds.clear()
    assert squeue.main(["-i", "1", "-h"]) == 0
    assert capsys.readouterr().out == "\n\n"
    for bad in (["-i", "0"], ["-i", "x"], ["--iterate=-2"]):
        assert squeue.main(bad) == 1
        value = bad[-1].split("=")[-1]
        assert capsys.readouterr().err == f"squeue: error: --iterate={value}\n\n"
