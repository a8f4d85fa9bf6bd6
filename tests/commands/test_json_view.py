"""--json documents (commands/jsonview.py, commands/jsonacct.py) against samples captured from
the live Slurm 22.05.8 here on 2026-11-28 (trimmed, under tests/commands/data/):
  slurm_squeue_json.json   `squeue --json` with 167 (`sbatch -J jsonrun -t 5 --wrap 'sleep 300'`,
                           RUNNING on n1) and 168 (`sbatch -J bigx -p cpu -N 2 --exclusive -t 5`,
                           PENDING (Resources) with an expected start)
  slurm_sinfo_json.json    `sinfo --json` with n1 (mixed) and n4 after
                           `scontrol update nodename=n4 state=drain reason="json capture test"`
  slurm_sacct_json.json    `sacct --json -j 164` (a `--wrap` job cancelled while running)
  slurm_partition_schema.json  key -> type of v0.0.38_partition, from the OpenAPI schema inside
                           openapi_v0_0_38.so (22.05's scontrol has no --json)
Key sets, nesting and value types must match; values are compared where we hold them.
"""
import json
import os
import subprocess
import sys

import pytest

from commands import jsonacct, jsonview, scontrol

sys.path.insert(0, os.path.dirname(__file__))
from fakectl_views import FakeController, conf_for  # noqa: E402

DATA = os.path.join(os.path.dirname(__file__), "data")


def sample(name):
    with open(os.path.join(DATA, name)) as f:
        return json.load(f)


def same_shape(ours, theirs, path="$"):
    """Same keys in dicts (recursively), same scalar types where both sides are set."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), path
        assert set(ours) == set(theirs), (path, set(ours) ^ set(theirs))
        for key in theirs:
            same_shape(ours[key], theirs[key], f"{path}.{key}")
    elif isinstance(theirs, list):
        assert isinstance(ours, list), path
        if theirs and ours:
            same_shape(ours[0], theirs[0], f"{path}[0]")
    elif theirs is not None and ours is not None:
        assert type(ours) is type(theirs), (path, ours, theirs)


BASE = dict(user="root", uid=0, gid=0, group="root", account="root", qos="normal",
            partition="cpu", stdin="/dev/null", work_dir="/tmp/jcap",
            req_tres="cpu=1,mem=16000M,node=1,billing=1")
RUNNING = dict(BASE, job_id=167, name="jsonrun", state="RUNNING", reason="None", priority=10014,
               submit_time=1795883455, eligible_time=1795883455, start_time=1795883456,
               end_time=1795883756, time_limit_min=5, nodes="n1", batch_host="n1",
               alloc_tres="cpu=1,mem=16000M,node=1,billing=1", mem_per_node_mb=16000)
PENDING = dict(BASE, job_id=168, name="bigx", state="PENDING", reason="Resources", priority=10014,
               submit_time=1795883475, start_time=1795883756, end_time=1795884056,
               time_limit_min=5, num_nodes=2, num_cpus=2, exclusive=True)
NODE_MIXED = dict(name="n1", state="MIXED", cpus=8, cpus_alloc=1, real_memory_mb=16000,
                  alloc_memory_mb=16000, free_memory_mb=21952, partitions=["cpu"],
                  address="localhost", hostname="localhost", sockets=8, arch="x86_64")
NODE_DRAINED = dict(name="n4", state="DRAINED", cpus=8, real_memory_mb=32000, gres="gpu:4",
                    partitions=["gpu"], reason="json capture test", reason_user="root",
                    reason_time=1795883492, sockets=8)
PARTITION = dict(name="cpu", nodes="n[1-2]", is_default=True, total_nodes=2, total_cpus=16)
ACCT = {"job": dict(BASE, job_id=164, name="wrap", state="CANCELLED", priority=10014,
                    submit_time=1795883454, start_time=1795883454, end_time=1795883456,
                    nodes="n1", alloc_tres="cpu=1,mem=16000M,node=1,billing=5",
                    time_limit_min=525600, cancelled_by=0, work_dir="/tmp"),
        "steps": [dict(step_id="batch", name="batch", state="CANCELLED", exit_signal=15,
                       start_time=1795883454, end_time=1795883456, nodes="n1",
                       alloc_tres="cpu=1,mem=16000M,node=1", total_cpu_s=0.003355)]}


def test_squeue_document_shape_matches_slurm():
    theirs = sample("slurm_squeue_json.json")
    ours = jsonview.jobs_document([PENDING, RUNNING], "anchor")
    assert list(ours) == ["meta", "errors", "jobs"] and ours["errors"] == []
    assert ours["meta"] == theirs["meta"]
    running, pending = ours["jobs"]                    # sorted by job id, as Slurm lists them
    slurm_running, slurm_pending = theirs["jobs"]
    same_shape(running, slurm_running)
    same_shape(pending, slurm_pending)
    assert list(running) == list(slurm_running)        # key order too
    assert "job_resources" not in pending              # Slurm adds it only once allocated
    for key in ("job_id", "job_state", "start_time", "end_time", "state_reason", "time_limit",
                "submit_time", "nodes", "tres_req_str", "tres_alloc_str", "priority", "cpus"):
        assert running[key] == slurm_running[key], key
    for key in ("job_id", "job_state", "start_time", "end_time", "state_reason", "node_count"):
        assert pending[key] == slurm_pending[key], key


def test_job_exit_code_is_the_raw_wait_status():  # squeue --json: CANCELLED job 164 had 15
    job = jsonview.job_json(dict(RUNNING, state="CANCELLED", exit_signal=15))
    assert job["exit_code"] == 15
    assert jsonview.job_json(dict(RUNNING, exit_code=3))["exit_code"] == 768


def test_sinfo_document_shape_and_drain_state():
    theirs = sample("slurm_sinfo_json.json")
    ours = jsonview.nodes_document([NODE_MIXED, NODE_DRAINED])
    assert ours["meta"] == theirs["meta"] and list(ours) == list(theirs)
    for mine, real in zip(ours["nodes"], theirs["nodes"]):
        same_shape(mine, real)
        assert list(mine) == list(real)
        for key in ("name", "state", "state_flags", "reason", "reason_changed_at",
                    "reason_set_by_user", "cpus", "real_memory", "alloc_cpus", "idle_cpus",
                    "alloc_memory", "partitions", "gres"):
            assert mine[key] == real[key], (mine["name"], key)


def test_not_responding_node_gets_flag():
    assert jsonview.node_state(dict(NODE_MIXED, responding=False)) == ("mixed", ["NOT_RESPONDING"])


def test_sacct_document_shape_matches_slurm():
    theirs = sample("slurm_sacct_json.json")
    ours = jsonacct.acct_document([ACCT], "anchor", now=1795883500)
    assert ours["meta"] == theirs["meta"]
    job, real = ours["jobs"][0], theirs["jobs"][0]
    same_shape(job, real)
    assert job["state"] == real["state"] and job["time"]["elapsed"] == real["time"]["elapsed"]
    assert job["steps"][0]["exit_code"] == real["steps"][0]["exit_code"]
    assert job["steps"][0]["step"] == real["steps"][0]["step"]
    assert job["steps"][0]["nodes"] == real["steps"][0]["nodes"]
    assert job["kill_request_user"] == "root"
    assert job["tres"]["requested"] == real["tres"]["requested"]


def test_tres_list_and_exit_codes():
    assert jsonacct.tres_list("cpu=2,mem=1G,gres/gpu=2") == [
        {"type": "cpu", "name": None, "id": 1, "count": 2},
        {"type": "mem", "name": None, "id": 2, "count": 1024},
        {"type": "gres", "name": "gpu", "id": 1001, "count": 2}]
    assert jsonacct.exit_code_json(3, 0) == {"status": "FAILED", "return_code": 3}
    assert jsonacct.exit_code_json(0, 0) == {"status": "SUCCESS", "return_code": 0}


def test_partition_document_follows_v0038_schema():
    schema = sample("slurm_partition_schema.json")["properties"]
    doc = jsonview.partitions_document([PARTITION])
    part = doc["partitions"][0]
    assert set(part) == set(schema)
    kinds = {"string": str, "integer": int, "array": list}
    for key, kind in schema.items():
        assert isinstance(part[key], kinds[kind]), key
    assert part["flags"] == ["default"] and part["max_time_limit"] == jsonview.INFINITE


def test_dumps_escapes_slashes_like_slurm():
    text = jsonview.dumps(jsonview.document("jobs", []))
    assert '"type": "openapi\\/v0.0.38"' in text and text.endswith("}\n")
    assert json.loads(text)["meta"]["plugin"]["type"] == "openapi/v0.0.38"


def test_scontrol_json_show_job_node_partition():
    answers = {"jobs": {"jobs": [RUNNING, PENDING]}, "nodes": {"nodes": [NODE_MIXED, NODE_DRAINED]},
               "partitions": {"partitions": [PARTITION]}}

    def call(op, args=None):
        return answers[op]
    out = scontrol.run(["--json", "show", "job"], call, conf_keys={"ClusterName": "c1"})
    doc = json.loads(out.out)
    assert out.code == 0 and [j["job_id"] for j in doc["jobs"]] == [167, 168]
    assert doc["jobs"][0]["cluster"] == "c1"
    doc = json.loads(scontrol.run(["--json", "show", "node", "n4"], call).out)
    assert [n["name"] for n in doc["nodes"]] == ["n4"]
    doc = json.loads(scontrol.run(["show", "partition", "--json"], call).out)
    assert doc["partitions"][0]["name"] == "cpu"
    bad = scontrol.run(["--json", "show", "node", "zz9"], call)
    assert bad.code == 1 and bad.out == "Node zz9 not found\n"


@pytest.fixture
def server(tmp_path):
    answers = {"jobs": {"jobs": [RUNNING, PENDING]}, "nodes": {"nodes": [NODE_MIXED]},
               "partitions": {"partitions": [PARTITION]}, "accounting": {"records": [ACCT]}}
    srv = FakeController(str(tmp_path / "ctl.sock"), answers)
    env = dict(os.environ, SLURM_CONF=conf_for(srv.path, tmp_path))
    yield srv, env
    srv.close()


@pytest.mark.parametrize("command,key,count", [
    (["commands.squeue", "--json", "-t", "R"], "jobs", 2),   # filters are ignored, as in 22.05
    (["commands.sinfo", "--json"], "nodes", 1),
    (["commands.sacct", "--json", "-j", "164"], "jobs", 1),
])
def test_e2e_json(server, command, key, count):
    srv, env = server
    res = subprocess.run([sys.executable, "-m", *command], env=env, capture_output=True,
                         text=True, timeout=20)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert len(doc[key]) == count and doc["errors"] == []
    if command[0] == "commands.squeue":
        assert srv.requests[-1] == ("jobs", {"include_finished": True})
        assert doc["jobs"][0]["cluster"] == "test"


def test_array_pending_record_carries_its_indices_and_throttle():
    job = jsonview.job_json(dict(RUNNING, array_job_id=185, array_task_id=None,
                                 array_task_str="3-5", array_max_tasks=2))
    assert (job["array_job_id"], job["array_task_id"], job["array_task_string"],
            job["array_max_tasks"]) == (185, None, "3-5", 2)
