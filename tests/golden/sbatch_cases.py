"""The cases of the sbatch golden corpus (see corpus.py for their shape). Each runs on real Slurm
22.05 (capture_sbatch.py) and on ours (tests/e2e/test_sbatch_corpus.py)."""
from __future__ import annotations

from tests.golden.corpus import ENV_DUMP

SH = "#!/bin/bash\n"
ENV_SCRIPT = SH + ENV_DUMP + "echo out-line\necho err-line >&2\n"


def script(directives: str = "", body: str = "") -> str:
    return SH + directives + ENV_DUMP + body


def sb(*args: str, stdin: str | None = None, env: dict | None = None) -> dict:
    step: dict = {"cmd": ["sbatch", *args]}
    if stdin is not None:
        step["stdin"] = stdin
    if env:
        step["env"] = env
    return step


def cmd(*args: str, env: dict | None = None, delay: float = 0.0, after: str = "") -> dict:
    step: dict = {"cmd": list(args)}
    if after:
        step["after_state"] = after  # the first job reaches this state first
    if env:
        step["env"] = env
    if delay:
        step["delay"] = delay
    return step


CASES: list[dict] = []


def case(name: str, *steps: dict, files: dict | None = None, until: str = "done", **extra) -> None:
    CASES.append({"name": name, "steps": list(steps), "files": files or {"job.sh": ENV_SCRIPT},
                  "until": until, **extra})


# ---- plain submissions, output and the job's environment
case("plain", sb("job.sh"))
case("parsable", sb("--parsable", "job.sh"))
case("quiet", dict(sb("-Q", "-J", "quietjob1", "job.sh"), find_name="quietjob1"))
case("wrap", sb("--wrap", "echo hello; " + ENV_DUMP.strip()))
case("wrap_name", sb("-J", "wrapped", "--wrap=echo hi"))
case("stdin_script", sb(stdin=ENV_SCRIPT))
case("script_args", sb("job.sh", "a", "b c"), files={"job.sh": script(body='echo "$#:$1:$2"\n')})
case("job_name_short", sb("-J", "myname", "job.sh"))
case("job_name_long", sb("--job-name=longname", "job.sh"))
case("partition_gpu", sb("-p", "gpu", "job.sh"))
case("partition_prefix", sb("--part=gpu", "job.sh"))
case("nodes2", sb("-N", "2", "job.sh"))
case("nodes_range", sb("-N", "1-2", "job.sh"))
case("ntasks4", sb("-n", "4", "job.sh"))
case("ntasks_bundled", sb("-n4", "-c2", "job.sh"))
case("cpus_per_task", sb("-c", "3", "job.sh"))
case("ntasks_per_node", sb("-N", "2", "--ntasks-per-node=2", "job.sh"))
case("tasks_16", sb("-n", "16", "job.sh"))
case("mem_1g", sb("--mem=1G", "job.sh"))
case("mem_per_cpu", sb("--mem-per-cpu=500", "-c", "2", "job.sh"))
case("time_minutes", sb("-t", "10", "job.sh"))
case("time_dhms", sb("-t", "1-02:03:04", "job.sh"))
case("time_ms", sb("--time=5:30", "job.sh"))
case("time_unlimited", sb("-t", "UNLIMITED", "job.sh"))
case("comment", sb("--comment=hello world", "job.sh"))
case("nice", sb("--nice=10", "job.sh"))
case("exclusive", sb("--exclusive", "job.sh"))
case("nodelist", sb("-w", "n2", "job.sh"))
case("exclude", sb("-x", "n1", "job.sh"))
case("constraint_none", sb("-C", "fast", "job.sh"))
case("gres_gpu", sb("-p", "gpu", "--gres=gpu:2", "job.sh"))
case("gpus_per_node", sb("-p", "gpu", "--gpus-per-node=3", "job.sh"))
case("gpus", sb("-p", "gpu", "--gpus=1", "job.sh"))
case("gpus_per_task", sb("-p", "gpu", "-n", "2", "--gpus-per-task=1", "job.sh"))
case("cpus_per_gpu", sb("-p", "gpu", "--gpus=2", "--cpus-per-gpu=2", "job.sh"))
case("mem_per_gpu", sb("-p", "gpu", "--gpus=1", "--mem-per-gpu=2G", "job.sh"))
case("chdir", sb("-D", "sub", "{W}/job.sh"), files={"job.sh": ENV_SCRIPT, "sub/.keep": ""})
case("account_qos", sb("-A", "root", "-q", "normal", "job.sh"))
case("mail", sb("--mail-type=END,FAIL", "--mail-user=a@b.c", "job.sh"))
case("mail_all", sb("--mail-type=ALL", "job.sh"))
case("wckey", sb("--wckey=wk1", "job.sh"))
case("signal", sb("--signal=USR1@30", "job.sh"))
case("signal_batch", sb("--signal=B:TERM@60", "-t", "5", "job.sh"))
case("signal_number", sb("--signal=10", "job.sh"))
case("deadline", sb("--deadline=now+2hours", "job.sh"))
case("requeue", sb("--requeue", "job.sh"))
case("no_requeue", sb("--no-requeue", "job.sh"))
case("priority_root", sb("--priority=5000", "-H", "job.sh"), until="pending")
case("exit_code", sb("job.sh"), files={"job.sh": script(body="exit 3\n")})
case("exit_signal", sb("job.sh"), files={"job.sh": script(body="kill -9 $$\n")})
case("wait_ok", sb("-W", "job.sh"))
case("wait_fail", sb("--wait", "job.sh"), files={"job.sh": script(body="exit 7\n")})

# ---- output and error file patterns
case("out_pattern_j", sb("-o", "out-%j.txt", "job.sh"))
case("out_pattern_x", sb("-J", "nm", "-o", "%x-%j.log", "job.sh"))
case("out_pattern_u", sb("-o", "%u.out", "job.sh"))
case("out_pattern_N", sb("-o", "host-%N.out", "job.sh"))
case("out_pattern_n_t", sb("-o", "n%n-t%t.out", "job.sh"))
case("out_pattern_pct", sb("-o", "pct%%-%j.out", "job.sh"))
case("out_pattern_A_a", sb("-o", "%A-%a.out", "job.sh"))
case("out_pattern_pad", sb("-o", "pad-%8j.out", "job.sh"))
case("out_err_separate", sb("-o", "o.txt", "-e", "e.txt", "job.sh"))
case("err_only", sb("-e", "only-%j.err", "job.sh"))
case("out_abs", sb("-o", "{W}/abs.out", "job.sh"))
case("open_mode_append", sb("--open-mode=append", "-o", "app.out", "job.sh"),
     files={"job.sh": ENV_SCRIPT, "app.out": "before\n"})
case("open_mode_truncate", sb("--open-mode=truncate", "-o", "tr.out", "job.sh"),
     files={"job.sh": ENV_SCRIPT, "tr.out": "before\n"})
case("input_file", sb("-i", "in.txt", "job.sh"),
     files={"job.sh": script(body="cat\n"), "in.txt": "from-input\n"})

# ---- #SBATCH directives
case("dir_basic", sb("job.sh"), files={"job.sh": script("#SBATCH -J dirname\n#SBATCH -t 7\n#SBATCH -c 2\n")})
case("dir_last_wins", sb("job.sh"), files={"job.sh": script("#SBATCH -J first\n#SBATCH -J second\n")})
case("dir_cli_wins", sb("-J", "cli", "job.sh"), files={"job.sh": script("#SBATCH -J script\n")})
case("dir_env_wins", sb("job.sh", env={"SBATCH_JOB_NAME": "fromenv"}),
     files={"job.sh": script("#SBATCH -J script\n")})
case("dir_cli_over_env", sb("-J", "cli", "job.sh", env={"SBATCH_JOB_NAME": "fromenv"}))
case("dir_stop_at_command", sb("job.sh"),
     files={"job.sh": SH + "#SBATCH -J before\necho x\n#SBATCH -J after\n" + ENV_DUMP})
case("dir_comment_lines", sb("job.sh"),
     files={"job.sh": SH + "# a comment\n\n#SBATCH -J aftercomment\n" + ENV_DUMP})
case("dir_quoted", sb("job.sh"), files={"job.sh": script("#SBATCH -J \"two words\" --comment='x y'\n")})
case("dir_trailing_comment", sb("job.sh"), files={"job.sh": script("#SBATCH -J named # the name\n")})
case("dir_slurm_prefix", sb("job.sh"), files={"job.sh": script("#SLURM -J slurmprefix\n")})
case("dir_indented", sb("job.sh"), files={"job.sh": script("  #SBATCH -J indented\n")})
case("dir_long_eq", sb("job.sh"), files={"job.sh": script("#SBATCH --partition=gpu --ntasks=2\n")})
case("dir_output", sb("job.sh"), files={"job.sh": script("#SBATCH -o dirout-%j.txt\n")})
case("env_partition", sb("job.sh", env={"SBATCH_PARTITION": "gpu"}))
case("env_timelimit", sb("job.sh", env={"SBATCH_TIMELIMIT": "15"}))
case("env_output", sb("job.sh", env={"SBATCH_OUTPUT": "envout-%j.txt"}))
case("env_no_requeue", sb("job.sh", env={"SBATCH_NO_REQUEUE": "1"}))

# ---- --export and --export-file
case("export_all", sb("--export=ALL", "job.sh", env={"MYVAR": "v1"}))
case("export_none", sb("--export=NONE", "job.sh", env={"MYVAR": "v1"}))
case("export_list", sb("--export=MYVAR,FOO=bar", "job.sh", env={"MYVAR": "v1", "BAR": "nope"}))
case("export_all_plus", sb("--export=ALL,FOO=x", "job.sh", env={"BAR": "b"}))
case("export_file", sb("--export-file=vars.env", "job.sh"),
     files={"job.sh": ENV_SCRIPT, "vars.env": "ENVFILE_A=1\nENVFILE_B=two\n"})

# ---- holds, begin, dependencies, changes
case("hold", sb("-H", "job.sh"), until="pending")
case("hold_release", sb("-H", "job.sh"), cmd("scontrol", "release", "{J0}"))
case("hold_cmd", sb("--begin=now+1hour", "job.sh"), cmd("scontrol", "hold", "{J0}"), until="pending")
case("uhold", sb("--begin=now+1hour", "job.sh"), cmd("scontrol", "uhold", "{J0}"), until="pending")
case("begin_future", sb("--begin=now+1hour", "job.sh"), until="pending")
case("begin_time_of_day", sb("--begin=23:59:59", "job.sh"), until="pending")
case("update_timelimit", sb("-H", "job.sh"), cmd("scontrol", "update", "JobId={J0}", "TimeLimit=20"),
     until="pending")
case("update_name_nice", sb("-H", "job.sh"), cmd("scontrol", "update", "JobId={J0}", "Name=renamed", "Nice=50"),
     until="pending")
case("update_partition", sb("-H", "job.sh"), cmd("scontrol", "update", "JobId={J0}", "Partition=gpu"),
     until="pending")
case("update_numcpus", sb("-H", "job.sh"), cmd("scontrol", "update", "JobId={J0}", "NumCPUs=4"), until="pending")
case("update_minmem", sb("-H", "job.sh"), cmd("scontrol", "update", "JobId={J0}", "MinMemoryNode=2000"),
     until="pending")
case("update_dependency", sb("-H", "job.sh"), sb("-H", "job.sh"),
     cmd("scontrol", "update", "JobId={J1}", "Dependency=afterany:{J0}"), until="pending")
case("update_bad_key", sb("-H", "job.sh"), cmd("scontrol", "update", "JobId={J0}", "Bogus=1"), until="pending")
case("requeue_running", sb("job.sh"), cmd("scontrol", "requeue", "{J0}", after="RUNNING", delay=0.5),
     files={"job.sh": script(body="sleep 4\n")}, until="pending", settle=1.0)
case("requeuehold", sb("job.sh"), cmd("scontrol", "requeuehold", "{J0}", after="RUNNING", delay=0.5),
     files={"job.sh": script(body="sleep 4\n")}, until="pending", settle=1.0)
case("requeue_pending", sb("-H", "job.sh"), cmd("scontrol", "requeue", "{J0}"), until="pending")
case("requeue_finished", sb("job.sh"), cmd("scontrol", "requeue", "{J0}", after="COMPLETED"))
case("dep_afterok", sb("job.sh"), sb("-d", "afterok:{J0}", "job.sh"))
case("dep_afterany_fail", sb("job.sh"), sb("--dependency=afterany:{J0}", "job.sh"),
     files={"job.sh": script(body="exit 1\n")})
case("dep_afternotok_never", sb("job.sh"), sb("-d", "afternotok:{J0}", "job.sh"), until="pending", settle=2.0,
     await_first="COMPLETED")
case("dep_singleton", sb("-J", "single", "job.sh"), sb("-J", "single", "-d", "singleton", "job.sh"))
case("dep_unknown", sb("-d", "afterok:999999", "job.sh"))
case("dep_bad_syntax", sb("-d", "sometime:1", "job.sh"))
case("dep_held_parent", sb("-H", "job.sh"), sb("-d", "afterok:{J0}", "job.sh"), until="pending")

# ---- scancel
case("scancel_pending", sb("-H", "job.sh"), cmd("scancel", "{J0}"))
case("scancel_unknown", cmd("scancel", "999999"))
case("scancel_finished", sb("job.sh"), cmd("scancel", "{J0}", after="COMPLETED"))
case("scancel_by_name", sb("-H", "-J", "cname1", "job.sh"), cmd("scancel", "-n", "cname1"))
case("scancel_state_pending", sb("-H", "-J", "cstate1", "job.sh"), cmd("scancel", "-t", "PENDING", "-n", "cstate1"))
case("scancel_signal_running", sb("job.sh"), cmd("scancel", "--signal=USR1", "{J0}", after="RUNNING", delay=0.5),
     files={"job.sh": script(body="trap 'echo got-usr1' USR1\nsleep 3 & wait\nsleep 1\n")})
case("scancel_batch_signal", sb("job.sh"), cmd("scancel", "-b", "-s", "TERM", "{J0}", after="RUNNING", delay=0.5),
     files={"job.sh": script(body="trap 'echo got-term; exit 0' TERM\nsleep 5 & wait\n")})
case("scancel_signal_pending", sb("-H", "job.sh"), cmd("scancel", "-s", "USR1", "{J0}"), until="pending")
case("scancel_bad_signal", sb("-H", "job.sh"), cmd("scancel", "-s", "FOO", "{J0}"), until="pending")
case("scancel_bad_id", cmd("scancel", "abc"))

# ---- --test-only
case("test_only", sb("--test-only", "job.sh"))
case("test_only_gpu", sb("--test-only", "-p", "gpu", "-N", "2", "job.sh"))
case("test_only_impossible", sb("--test-only", "-N", "3", "job.sh"))

# ---- errors: every one creates no job
case("err_partition", sb("-p", "nosuch", "job.sh"))
case("err_too_many_cpus", sb("-c", "64", "job.sh"))
case("err_too_much_mem", sb("--mem=100G", "job.sh"))
case("err_gpu_on_cpu", sb("--gres=gpu:1", "-p", "cpu", "job.sh"))
case("err_too_many_gpus", sb("-p", "gpu", "--gres=gpu:5", "job.sh"))
case("err_nodelist", sb("-w", "nosuch", "job.sh"))
case("err_reservation", sb("--reservation=nores", "job.sh"))
case("err_signal", sb("--signal=FOO", "job.sh"))
case("err_signal_time", sb("--signal=USR1@abc", "job.sh"))
case("err_deadline", sb("--deadline=foo", "job.sh"))
case("err_mail_type", sb("--mail-type=FOO", "job.sh"))
case("err_open_mode", sb("--open-mode=foo", "job.sh"))
case("err_cpus_per_gpu", sb("--cpus-per-gpu=abc", "job.sh"))
case("err_mem_per_gpu", sb("--mem-per-gpu=abc", "job.sh"))
case("err_gpus_per_task_alone", sb("--gpus-per-task=1", "job.sh"))
case("err_export_file", sb("--export-file=/nonexistent/file", "job.sh"))
case("err_time", sb("-t", "abc", "job.sh"))
case("err_begin", sb("--begin=garbage", "job.sh"))
case("err_no_script", sb("nosuch.sh"))
case("err_not_script", sb("job.sh"), files={"job.sh": "echo no shebang\n"})
case("err_unknown_option", sb("--bogus", "job.sh"))
case("err_directive", sb("job.sh"), files={"job.sh": script("#SBATCH --bogus\n")})
case("err_wrap_and_script", sb("--wrap", "true", "job.sh"))
case("err_nodes_order", sb("-N", "3-1", "job.sh"))
case("err_ntasks", sb("-n", "0", "job.sh"))
case("err_nice_range", sb("--nice=99999999999", "job.sh"))
case("err_mem_conflict", sb("--mem=1G", "--mem-per-cpu=1G", "job.sh"))
case("err_deadline_before_begin", sb("--begin=now+2hours", "--deadline=now+1hour", "job.sh"))

# ---- more scancel forms (always narrowed by a unique job name: the real cluster is shared)
case("scancel_partition", sb("-H", "-p", "gpu", "-J", "cpart1", "job.sh"), cmd("scancel", "-p", "gpu", "-n", "cpart1"))
case("scancel_user", sb("-H", "-J", "cuser1", "job.sh"), cmd("scancel", "-u", "root", "-n", "cuser1"))
case("scancel_nodelist", sb("-w", "n2", "-J", "cnode1", "job.sh"),
     cmd("scancel", "-w", "n2", "-n", "cnode1", after="RUNNING"), files={"job.sh": script(body="sleep 20\n")})
case("scancel_full_signal", sb("job.sh"), cmd("scancel", "-f", "-s", "USR1", "{J0}", after="RUNNING", delay=1.0),
     files={"job.sh": script(body="trap 'echo got-usr1; exit 0' USR1\nsleep 10 & wait\n")})
case("scancel_verbose", sb("-H", "job.sh"), cmd("scancel", "-v", "{J0}"))
case("scancel_running", sb("job.sh"), cmd("scancel", "{J0}", after="RUNNING", delay=0.5),
     files={"job.sh": script(body="sleep 20\n")})

# ---- more scontrol changes
case("requeue_unknown", cmd("scontrol", "requeue", "999999"))
case("hold_unknown", cmd("scontrol", "hold", "999999"))
case("update_starttime", sb("-H", "job.sh"), cmd("scontrol", "update", "JobId={J0}", "StartTime=now+1hour"),
     until="pending")
case("update_bad_numcpus", sb("-H", "job.sh"), cmd("scontrol", "update", "JobId={J0}", "NumCPUs=abc"),
     until="pending")
case("update_bad_minmem", sb("-H", "job.sh"), cmd("scontrol", "update", "JobId={J0}", "MinMemoryNode=1G"),
     until="pending")
case("update_self_dependency", sb("-H", "job.sh"), cmd("scontrol", "update", "JobId={J0}", "Dependency=afterok:{J0}"),
     until="pending")

# ---- limits in time: the kill notice, --signal before the limit, --deadline
case("time_limit_kill", sb("-t", "1", "job.sh"), files={"job.sh": script(body="sleep 150\n")}, timeout=200)
case("signal_warning", sb("-t", "1", "--signal=B:USR1@50", "job.sh"), timeout=200,
     files={"job.sh": script(body="trap 'echo got-usr1; exit 0' USR1\nfor i in $(seq 150); do sleep 1; done\n")})
# observed: a held job is not ended by its deadline (slurmctld checks it when it tries to start it)
case("deadline_held", sb("-H", "--deadline=now+20seconds", "job.sh"), until="pending", settle=30.0)
case("version", sb("--version"))
case("update_many_fields", sb("-H", "job.sh"),
     cmd("scontrol", "update", "JobId={J0}", "NumNodes=2", "NumTasks=3", "MailUser=x@y", "MailType=END",
         "WCKey=w2", "Requeue=0", "ReqNodeList=n2", "ExcNodeList=n1", "Deadline=now+3hours", "Comment=hello"),
     until="pending")
case("update_bad_mailtype", sb("-H", "job.sh"), cmd("scontrol", "update", "JobId={J0}", "MailType=BAD"),
     until="pending")
case("update_bad_numtasks", sb("-H", "job.sh"), cmd("scontrol", "update", "JobId={J0}", "NumTasks=abc"),
     until="pending")
case("update_bad_excnode", sb("-H", "job.sh"), cmd("scontrol", "update", "JobId={J0}", "ExcNodeList=nosuch"),
     until="pending")
case("update_bad_feature", sb("-H", "job.sh"), cmd("scontrol", "update", "JobId={J0}", "Features=foo"),
     until="pending")
case("update_priority_held", sb("-H", "job.sh"), cmd("scontrol", "update", "JobId={J0}", "Priority=77"),
     until="pending")
case("update_requeue_flag", sb("-H", "job.sh"), cmd("scontrol", "update", "JobId={J0}", "Requeue=0"),
     until="pending")
