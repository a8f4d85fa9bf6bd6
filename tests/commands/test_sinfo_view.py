"""sinfo: golden text captured from the live Slurm 22.05 here (nodes n1,n2 in cpu*, n3,n4 with
gpu:4 in gpu; one 1-CPU job on n1 and one on n3, so n1/n3 are mixed), fed through commands.sinfo
with equivalent wire records."""
import os
import subprocess
import sys
import time

import pytest

from commands import sinfo

sys.path.insert(0, os.path.dirname(__file__))
from fakectl_views import FakeController, conf_for  # noqa: E402

NOW = int(time.mktime((2026, 11, 28, 15, 29, 16, 0, 0, -1)))
PARTS = [dict(name="cpu", nodes="n[1-2]", is_default=True, max_time_min=None),
         dict(name="gpu", nodes="n[3-4]", max_time_min=None)]


def node(name, part, state, alloc, mem, gres="", **extra):
    return dict(name=name, state=state, cpus=8, cpus_alloc=alloc, real_memory_mb=mem,
                free_memory_mb=23506, gres=gres, partitions=[part], sockets=8,
                cores_per_socket=1, threads_per_core=1, **extra)


NODES = [node("n1", "cpu", "MIXED", 1, 16000), node("n2", "cpu", "IDLE", 0, 16000),
         node("n3", "gpu", "MIXED", 1, 32000, "gpu:4"), node("n4", "gpu", "IDLE", 0, 32000, "gpu:4")]


def run(argv, parts=PARTS, nodes=NODES):
    return sinfo.format_sinfo(parts, nodes, sinfo.parse_options(argv, {}), NOW)[0]


def test_default():  # sinfo
    assert run([]) == """\
PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST
cpu*         up   infinite      1    mix n1
cpu*         up   infinite      1   idle n2
gpu          up   infinite      1    mix n3
gpu          up   infinite      1   idle n4
"""


def test_alike_nodes_share_a_row():  # sinfo, with every node idle (before any job)
    idle = [dict(n, state="IDLE", cpus_alloc=0) for n in NODES]
    assert run([], nodes=idle) == """\
PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST
cpu*         up   infinite      2   idle n[1-2]
gpu          up   infinite      2   idle n[3-4]
"""


def test_node_view():  # sinfo -N
    assert run(["-N"]) == """\
NODELIST   NODES PARTITION STATE 
n1             1      cpu* mix   
n2             1      cpu* idle  
n3             1       gpu mix   
n4             1       gpu idle  
"""


def test_long():  # sinfo -l
    assert run(["-l"]) == time.ctime(NOW) + """
PARTITION AVAIL  TIMELIMIT   JOB_SIZE ROOT OVERSUBS     GROUPS  NODES       STATE NODELIST
cpu*         up   infinite 1-infinite   no       NO        all      1       mixed n1
cpu*         up   infinite 1-infinite   no       NO        all      1        idle n2
gpu          up   infinite 1-infinite   no       NO        all      1       mixed n3
gpu          up   infinite 1-infinite   no       NO        all      1        idle n4
"""


def test_node_long():  # sinfo -Nl
    assert run(["-Nl"]).splitlines()[1:3] == [
        "NODELIST   NODES PARTITION       STATE CPUS    S:C:T MEMORY TMP_DISK WEIGHT AVAIL_FE REASON              ",
        "n1             1      cpu*       mixed 8       8:1:1  16000        0      1   (null) none                "]


def test_partition_filter_and_noheader():  # sinfo -p gpu ; sinfo -h
    assert run(["-p", "gpu"]).splitlines()[1:] == ["gpu          up   infinite      1    mix n3",
                                                   "gpu          up   infinite      1   idle n4"]
    assert run(["-h"]).splitlines()[0] == "cpu*         up   infinite      1    mix n1"
    assert run(["-p", "nosuch"]) == "PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST\n"


def test_format_codes():  # sinfo -o '%P|%a|%l|%D|%t|%T|%N|%c|%m|%G|%C|%O|%e|%R|%E|%f'
    lines = run(["-o", "%P|%a|%l|%D|%t|%T|%N|%c|%m|%G|%C|%O|%e|%R|%E|%f"]).splitlines()
    assert lines[0] == ("PARTITION|AVAIL|TIMELIMIT|NODES|STATE|STATE|NODELIST|CPUS|MEMORY|GRES|"
                        "CPUS(A/I/O/T)|CPU_LOAD|FREE_MEM|PARTITION|REASON|AVAIL_FEATURES")
    # CPU_LOAD is 0.21 on real Slurm; our nodes do not report a load yet
    assert lines[3] == "gpu|up|infinite|1|mix|mixed|n3|8|32000|gpu:4|1/7/0/8|N/A|23506|gpu|none|(null)"


def test_truncation():  # sinfo -o '%.3P|%3R|%.3N|%.3t|%.3T|%.3l|%.3E'
    assert run(["-o", "%.3P|%3R|%.3N|%.3t|%.3T|%.3l|%.3E"]).splitlines()[:3] == [
        "PAR|PAR|NODELIST|STA|STA|TIM|REA", "cp*|cpu| n1|mix|mix|inf|non", "cp*|cpu| n2|idl|idl|inf|non"]


def test_summarize():  # sinfo -s
    assert run(["-s"]) == """\
PARTITION AVAIL  TIMELIMIT   NODES(A/I/O/T) NODELIST
cpu*         up   infinite          1/1/0/2 n[1-2]
gpu          up   infinite          1/1/0/2 n[3-4]
"""


def test_down_not_responding_and_drain():
    nodes = [node("n1", "cpu", "DOWN", 0, 16000, responding=False, reason="gone"),
             node("n2", "cpu", "DRAINED", 0, 16000)]
    assert run(["-h", "-p", "cpu"], nodes=nodes) == ("cpu*         up   infinite      1  drain n2\n"
                                                     "cpu*         up   infinite      1  down* n1\n")
    # a partition left without nodes by -t is still listed (tests/golden/views/sinfo.json state_idle)
    assert run(["-h", "-t", "drain"], nodes=nodes).splitlines() == ["cpu*         up   infinite      1  drain n2",
                                                                   "gpu          up   infinite      0    n/a "]
    assert "1/0/8/8" not in run(["-o", "%C"], nodes=nodes)


def test_time_limit_and_bad_state():
    parts = [dict(PARTS[0], max_time_min=1440), dict(PARTS[1], max_time_min=90)]
    assert [line.split()[2] for line in run(["-h"], parts=parts).splitlines()] == [
        "1-00:00:00", "1-00:00:00", "1:30:00", "1:30:00"]
    with pytest.raises(sinfo.UsageError) as info:   # sinfo -t bogus
        sinfo.parse_options(["-t", "bogus"], {})
    assert info.value.lines[0] == 'sinfo: error: Bad state string: "bogus"'


def test_e2e(tmp_path):
    server = FakeController(str(tmp_path / "ctl.sock"), {"partitions": {"partitions": PARTS},
                                                          "nodes": {"nodes": NODES}})
    try:
        env = dict(os.environ, SLURM_CONF=conf_for(server.path, tmp_path))
        res = subprocess.run([sys.executable, "-m", "commands.sinfo"], env=env,
                             capture_output=True, text=True, timeout=30)
        assert res.returncode == 0 and res.stdout == run([])
    finally:
        server.close()
    res = subprocess.run([sys.executable, "-m", "commands.sinfo"], env=env, capture_output=True,
                         text=True, timeout=30)   # sinfo against a dead controller
    assert (res.returncode, res.stderr) == (
        1, "slurm_load_partitions: Unable to contact slurm controller (connect failure)\n")
