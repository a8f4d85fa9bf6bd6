"""Rules the real-Slurm view corpus (tests/golden/views, run end to end by
tests/e2e/test_views_corpus.py) taught the views, checked here on wire records without a cluster.
Each expected text is what the real Slurm 22.05 printed for the case named in the comment."""
import time

from commands import sacct, scontrol, showconfig, sinfo, squeue

NOW = int(time.mktime((2026, 11, 28, 17, 28, 30, 0, 0, -1)))
T0 = NOW - 30
JOB = dict(user="nobody", uid=65534, gid=65534, group="nogroup", account="", qos="normal", submit_time=T0,
           work_dir="/tmp/slurm-golden-views", num_nodes=1, num_cpus=1, partition="cpu")
RUNNING = [dict(JOB, job_id=492, name="alpha", state="RUNNING", start_time=T0, nodes="n1", batch_host="n1",
                time_limit_min=30),
           dict(JOB, job_id=493, name="beta", partition="gpu", state="RUNNING", start_time=T0, nodes="n3",
                batch_host="n3", tres_per_node="gres/gpu:2", gpus=[0, 1], mem_per_node_mb=500,
                alloc_tres="cpu=1,mem=500M,node=1,billing=1,gres/gpu=2"),
           dict(JOB, job_id=500, name="omega", state="RUNNING", start_time=T0, nodes="n2", batch_host="n2")]


def test_squeue_steps_view():  # squeue -s -u nobody
    text, errors = squeue.format_jobs(RUNNING, squeue.parse_options(["-s"], {}), NOW)
    assert errors == []
    assert text == ("         STEPID     NAME PARTITION     USER      TIME NODELIST\n"
                    "      492.batch    batch       cpu   nobody      0:30 n1\n"
                    "      500.batch    batch       cpu   nobody      0:30 n2\n"
                    "      493.batch    batch       gpu   nobody      0:30 n3\n")


def test_squeue_percent_account_gres_and_unknown_format2():
    # squeue -o %i%%%j ; -o "%i %a %b" ; -O JobID,NoSuchField
    assert squeue.format_jobs(RUNNING[:1], squeue.parse_options(["-o", "%i%%%j"], {}), NOW)[0] == \
        "JOBIDNAME\n492alpha\n"
    assert squeue.format_jobs(RUNNING[1:2], squeue.parse_options(["-o", "%i %a %b"], {}), NOW)[0] == \
        "JOBID ACCOUNT TRES_PER_NODE\n493 (null) gres:gpu:2\n"
    text, errors = squeue.format_jobs(RUNNING[:1], squeue.parse_options(["-O", "JobID,NoSuchField"], {}), NOW)
    assert text == "JOBID               \n492                 \n"
    assert errors == ["squeue: error: Invalid job format specification: NoSuchField"]


PARTS = [dict(name="cpu", nodes="n[1-2]", is_default=True), dict(name="gpu", nodes="n[3-4]")]


def _node(name, part, state, alloc, mem, gres=""):
    return dict(name=name, state=state, cpus=8, cpus_alloc=alloc, real_memory_mb=mem, alloc_memory_mb=alloc * 100,
                gres=gres, partitions=[part], sockets=8, cores_per_socket=1, threads_per_core=1)


NODES = [_node("n1", "cpu", "MIXED", 2, 16000), _node("n2", "cpu", "MIXED", 2, 16000),
         _node("n3", "gpu", "MIXED", 1, 32000, "gpu:4"), _node("n4", "gpu", "IDLE", 0, 32000, "gpu:4")]


def _sinfo(argv):
    return sinfo.format_sinfo(PARTS, NODES, sinfo.parse_options(argv, {}), NOW)


def test_sinfo_format2_and_grouping_across_partitions():
    # sinfo -O Partition:5,CPUs:.4,Memory:8,Gres:12
    assert _sinfo(["-O", "Partition:5,CPUs:.4,Memory:8,Gres:12"])[0] == (
        "PARTICPUSMEMORY  GRES        \ncpu*    816000   (null)      \ngpu     832000   gpu:4       \n")
    # sinfo -o "%t %D %N": no partition field, so nodes group across partitions
    assert _sinfo(["-o", "%t %D %N"])[0] == "STATE NODES NODELIST\nmix 3 n[1-3]\nidle 1 n4\n"
    # sinfo -O Bogus: the error (in Slurm's words), a blank header and one blank row
    assert _sinfo(["-O", "Bogus"]) == ("\n\n", ["sinfo: error: Invalid job format specification: Bogus"])
    # sinfo -t idle: a partition without matching nodes still has its row
    assert _sinfo(["-t", "idle"])[0].splitlines()[1] == "cpu*         up   infinite      0    n/a "
    # sinfo -o "%10P %.5a %-8t": unknown letters are reported without a prefix
    assert _sinfo(["-o", "%10P %-8t"])[1] == ["Invalid node format specification: -"]


def test_scontrol_hostlist_keeps_order():  # scontrol show hostlist n1,n2,n3,n5,m7
    assert scontrol.hostlist_in_order(["n1", "n2", "n3", "n5", "m7"]) == "n[1-3,5],m7"
    assert scontrol.hostlist_in_order(["n1", "m7", "n2"]) == "n1,m7,n2"
    assert scontrol.hostlist_in_order(["gpu01", "gpu02", "gpu04"]) == "gpu[01-02,04]"


def test_scontrol_job_detail_and_tracked_tres():  # scontrol -d show job 493 (GresTypes=gpu only)
    from commands.formats import tracked_tres_names
    lines = scontrol.job_lines(RUNNING[1], NOW, details=True, tracked=tracked_tres_names(None))
    assert "TRES=cpu=1,mem=500M,node=1,billing=1" in lines
    assert "JOB_GRES=gpu:2" in lines
    assert "  Nodes=n3 CPU_IDs=0 Mem=500 GRES=gpu:2(IDX:0-1)" in lines
    assert "TresPerNode=gres:gpu:2" in lines
    assert "Priority=0 Nice=0 Account=(null) QOS=normal" in lines
    with_gpu = scontrol.job_lines(RUNNING[1], NOW, tracked=tracked_tres_names("gres/gpu"))
    assert "TRES=cpu=1,mem=500M,node=1,billing=1,gres/gpu=2" in with_gpu


def test_scontrol_pending_job_defaults():  # scontrol show job 495 (delta, afterok dependency)
    job = dict(JOB, job_id=495, name="delta", state="PENDING", reason="Dependency",
               dependency="afterok:492(unfulfilled)")
    lines = scontrol.job_lines(job, NOW)
    assert "AccrueTime=Unknown" in lines
    assert any(line.endswith("EligibleTime=Unknown") for line in lines)
    assert "StdOut=/tmp/slurm-golden-views/slurm-495.out" in lines
    assert "StdErr=/tmp/slurm-golden-views/slurm-495.out" in lines


def test_show_config_layout():  # scontrol show config
    config = {"ClusterName": "anchor", "MinJobAge": 300, "KillWait": 5, "SelectTypeParameters": "CR_Core_Memory",
              "SlurmctldHost": "localhost", "SlurmUser": "root", "DefMemPerCPU": None, "DatabaseURL": "sqlite:///x",
              "PriorityWeightFairshare": "10000"}
    lines = showconfig.config_text(config, {"SLURM_CONF": "/etc/slurm/slurm.conf"}, NOW).splitlines()
    assert lines[0].startswith("Configuration data as of 2026-11-28T")
    assert "ClusterName             = anchor" in lines
    assert "MinJobAge               = 300 sec" in lines
    assert "KillWait                = 5 sec" in lines
    assert "SelectTypeParameters    = CR_CORE_MEMORY" in lines
    assert "SlurmUser               = root(0)" in lines
    assert "DefMemPerNode           = UNLIMITED" in lines
    assert "PriorityWeightFairShare = 10000" in lines
    assert "SLURM_CONF              = /etc/slurm/slurm.conf" in lines
    assert not any(line.startswith("DatabaseURL") for line in lines)
    keys = [line.split()[0] for line in lines[1:] if " = " in line]
    assert keys == [k for k in showconfig.SLURM_ORDER if k in keys]          # Slurm's order
    assert lines[-2:] == ["", f"Slurmctld(primary) at {lines[-1].split()[2]} is UP"]


def test_sacct_rules():
    opts = sacct.parse_options(["-X", "-j", "490,495", "-o", "JobID,Timelimit,Start,End"], NOW, {}, uid=0)
    held_cancelled = {"job": dict(JOB, job_id=490, name="chi", state="CANCELLED", cancelled_by=65534,
                                  end_time=T0 + 1), "steps": []}
    never_started = {"job": dict(JOB, job_id=495, name="delta", state="PENDING", reason="Dependency"), "steps": []}
    rows = sacct.rows_for([held_cancelled, never_started], opts, NOW)
    end = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(T0 + 1))
    assert rows == [["490", "Partition_Limit", end, end], ["495", "Partition_Limit", "Unknown", "Unknown"]]
    # sacct -S now+1hour: the window is checked before asking anyone
    try:
        sacct.parse_options(["-S", "now+1hour"], NOW, {}, uid=0)
    except sacct.UsageError as exc:
        assert exc.lines[0].startswith("sacct: error: Start time (") and exc.lines[0].endswith(").")
        assert "requested is after end time" in exc.lines[0]
    else:
        raise AssertionError("no error")
    # only the keys the format reads are requested
    request = sacct.request_args(sacct.parse_options(["-o", "JobID,State"], NOW, {}, uid=0))
    assert set(request["fields"]) == {"job_id", "state", "cancelled_by", "array_job_id", "array_task_id",
                                      "array_task_str", "array_max_tasks"}
    assert "fields" not in sacct.request_args(sacct.parse_options(["--json"], NOW, {}, uid=0))
