"""A real local cluster: controller, node agents, SQLite, and the Slurm-named commands."""
import os
import time

import pytest

pytestmark = pytest.mark.slow


def test_submit_runs_and_is_accounted(cluster):
    script = os.path.join(cluster.workdir, "job.sh")
    with open(script, "w") as f:
        f.write("#!/bin/bash\n#SBATCH -J hello\n#SBATCH -c 2\n"
                "echo \"id=$SLURM_JOB_ID name=$SLURM_JOB_NAME part=$SLURM_JOB_PARTITION nodes=$SLURM_JOB_NODELIST\"\n"
                "echo \"cpt=$SLURM_CPUS_PER_TASK submit=$SLURM_SUBMIT_DIR\"\n")
    out = cluster.cmd("sbatch", script, check=True).stdout
    assert out.startswith("Submitted batch job ")
    job_id = int(out.split()[-1])
    assert cluster.wait_state(job_id, ("COMPLETED", "FAILED")) == "COMPLETED"
    text = open(os.path.join(cluster.workdir, f"slurm-{job_id}.out")).read()
    assert f"id={job_id} name=hello part=cpu nodes=n" in text
    assert f"cpt=2 submit={cluster.workdir}" in text
    proc = cluster.cmd("sacct", "-j", str(job_id), "-P", "-n", "-o", "JobID,State,ExitCode", check=True)
    sacct = proc.stdout
    assert proc.stderr == ""
    assert f"{job_id}|COMPLETED|0:0" in sacct.splitlines()
    assert f"{job_id}.batch|COMPLETED|0:0" in sacct.splitlines()


def test_gpu_job_gets_its_gpus(cluster):
    job_id = cluster.sbatch("-p", "gpu", "--gres=gpu:2", "-o", "gpu-%j.out",
                            "--wrap", "echo CVD=$CUDA_VISIBLE_DEVICES JG=$SLURM_JOB_GPUS")
    cluster.wait_state(job_id, ("COMPLETED",))
    text = open(os.path.join(cluster.workdir, f"gpu-{job_id}.out")).read()
    assert "CVD=0,1 JG=0,1" in text


def test_failed_job_exit_code(cluster):
    job_id = cluster.sbatch("--wrap", "exit 3")
    assert cluster.wait_state(job_id, ("COMPLETED", "FAILED")) == "FAILED"
    line = cluster.cmd("sacct", "-X", "-n", "-P", "-j", str(job_id), "-o", "State,ExitCode", check=True).stdout
    assert line.strip() == "FAILED|3:0"


def test_cancel_running_and_pending(cluster):
    running = cluster.sbatch("--wrap", "sleep 300")
    held = cluster.sbatch("--hold", "--wrap", "true")
    cluster.wait_state(running, ("RUNNING",))
    assert cluster.cmd("scancel", str(running), str(held)).returncode == 0
    assert cluster.wait_state(running, ("CANCELLED",)) == "CANCELLED"
    assert cluster.state(held) == "CANCELLED"
    # an unknown id is silent with exit 0, as in Slurm
    proc = cluster.cmd("scancel", "999999")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_squeue_sinfo_scontrol_show(cluster):
    job_id = cluster.sbatch("-J", "sleeper", "--wrap", "sleep 30")
    cluster.wait_state(job_id, ("RUNNING",))
    squeue = cluster.cmd("squeue", check=True).stdout.splitlines()
    assert squeue[0].split() == ["JOBID", "PARTITION", "NAME", "USER", "ST", "TIME", "NODES", "NODELIST(REASON)"]
    assert any(line.split()[0] == str(job_id) and line.split()[4] == "R" for line in squeue[1:])
    sinfo = cluster.cmd("sinfo", check=True).stdout
    assert sinfo.splitlines()[0].split() == ["PARTITION", "AVAIL", "TIMELIMIT", "NODES", "STATE", "NODELIST"]
    assert "cpu*" in sinfo
    show = cluster.cmd("scontrol", "show", "job", str(job_id), check=True).stdout
    assert f"JobId={job_id} JobName=sleeper" in show and "JobState=RUNNING" in show
    cluster.cmd("scancel", str(job_id), check=True)


def test_bad_requests_change_nothing(cluster):
    before = len(cluster.client().jobs(include_finished=True))
    proc = cluster.cmd("sbatch", "-p", "nope", "--wrap", "true")
    assert proc.returncode == 1
    assert "sbatch: error: Batch job submission failed: Invalid partition name specified" in proc.stderr
    # wider than any node but not than the partition: refused (Slurm 22.05 here: `-c 9` on 8-CPU
    # nodes); wider than the partition is taken and pends with PartitionConfig (`-c 64`)
    proc = cluster.cmd("sbatch", "-c", "5", "--wrap", "true")
    assert proc.returncode == 1
    assert "Requested node configuration is not available" in proc.stderr
    too_big = cluster.sbatch("-c", "64", "--wrap", "true")
    deadline = time.monotonic() + 10
    while cluster.client().job(too_big).reason != "PartitionConfig" and time.monotonic() < deadline:
        time.sleep(0.1)
    info = cluster.client().job(too_big)
    assert (info.state, info.reason) == ("PENDING", "PartitionConfig")
    cluster.cmd("scancel", str(too_big), check=True)
    before += 1
    proc = cluster.cmd("sbatch", "--bogus-option", "--wrap", "true")
    assert proc.returncode == 255
    proc = cluster.cmd("scontrol", "show", "job", "424242")
    assert proc.returncode == 1 and "Invalid job id specified" in proc.stderr
    # garbage on the controller's socket gets an error or a closed connection, never a crash
    import socket as so
    from sdk.discovery import controller_socket
    for garbage in (b"\x00\x00\x00\x05hello", b"\xff\xff\xff\xff", b"\x00\x00\x00\x02\x93\x01", b"junk"):
        s = so.socket(so.AF_UNIX, so.SOCK_STREAM)
        s.settimeout(5)
        s.connect(controller_socket(cluster.conf))
        s.sendall(garbage)
        s.shutdown(so.SHUT_WR)
        try:
            s.recv(1 << 16)
        except OSError:
            pass
        s.close()
    assert cluster.client().ping()["up"]
    assert len(cluster.client().jobs(include_finished=True)) == before


def _as_user(user: str, fn):
    """Run fn() in a forked child that has switched to `user`: the controller must see that uid
    through the socket's peer credentials (nothing in the request names the user)."""
    import json
    import pwd
    entry = pwd.getpwnam(user)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.setgid(entry.pw_gid)
            os.setuid(entry.pw_uid)
            out = fn()
        except BaseException as exc:   # report anything to the parent
            out = {"error": repr(exc)}
        os.write(w, json.dumps(out).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.waitpid(pid, 0)
    return json.loads(data)


def test_only_owner_or_root_may_cancel(cluster):
    from sdk.discovery import controller_socket
    from sdk.transport import LocalTransport
    job_id = cluster.sbatch("--hold", "--wrap", "true")
    transport = LocalTransport(controller_socket(cluster.conf))
    reply = _as_user("nobody", lambda: transport.call("cancel", {"job_ids": [job_id]}))
    assert reply == {"results": [{"job_id": job_id, "code": "ACCESS_DENIED"}]}
    assert cluster.state(job_id) == "PENDING"
    # a forged uid field in the request changes nothing
    reply = _as_user("nobody", lambda: transport.call("cancel", {"job_ids": [job_id], "uid": 0}))
    assert reply["results"][0]["code"] == "ACCESS_DENIED"
    nobody_job = _as_user("nobody", lambda: transport.call(
        "submit", {"jobs": [{"script": "#!/bin/sh\ntrue\n", "hold": True, "work_dir": "/tmp"}], "keys": ["k1"]}))
    assert cluster.client().job(nobody_job["job_ids"][0]).user == "nobody"
    cluster.cmd("scancel", str(job_id), str(nobody_job["job_ids"][0]), check=True)   # root may


def test_first_fit_queues_when_full(cluster):
    # 2 nodes x 4 CPUs: eight 1-CPU jobs run at once, the ninth waits for Resources
    ids = [cluster.sbatch("-c", "1", "--mem=100", "--wrap", "sleep 5") for _ in range(9)]
    time.sleep(1.5)
    states = {j: cluster.state(j) for j in ids}
    assert sum(s == "RUNNING" for s in states.values()) == 8
    waiting = [j for j, s in states.items() if s == "PENDING"]
    assert len(waiting) == 1 and cluster.client().job(waiting[0]).reason == "Resources"
    cluster.cmd("scancel", *map(str, ids), check=True)


def test_remote_client_with_token(cluster):
    from conf.slurmconf import load_config
    from sdk.client import Client
    from sdk.errors import SlurmError
    from sdk.records import JobSpec
    port = load_config(cluster.conf).slurmctld_port + 1
    endpoint = f"tcp://127.0.0.1:{port}"
    token = cluster.client().token(lifespan=60)
    remote = Client(endpoint=endpoint, token=token)
    job_id = remote.submit(JobSpec(script="#!/bin/sh\ntrue\n", hold=True, work_dir="/tmp"))
    assert remote.job(job_id).user == "root"
    for bad in (token[:-2] + "xx", "garbage", ""):
        with pytest.raises(SlurmError) as err:
            Client(endpoint=endpoint, token=bad or "x").ping()
        assert err.value.code == "ACCESS_DENIED"
    remote.cancel([job_id])
    assert cluster.state(job_id) == "CANCELLED"


def test_garbage_on_zeromq_ports_is_dropped(cluster):
    import zmq
    from conf.slurmconf import load_config
    port = load_config(cluster.conf).slurmctld_port
    ctx = zmq.Context.instance()
    # the agent port: an impostor DEALER with a node's name and junk frames
    dealer = ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.IDENTITY, b"n1")
    dealer.setsockopt(zmq.LINGER, 0)
    import zmq.auth
    keys = load_config(cluster.conf).raw["AgentKeysDir"]     # with n1's own key: past CURVE
    public, secret = zmq.auth.load_certificate(os.path.join(keys, "n1.key_secret"))
    dealer.curve_secretkey, dealer.curve_publickey = secret, public
    dealer.curve_serverkey = zmq.auth.load_certificate(os.path.join(keys, "controller.key"))[0]
    dealer.connect(f"tcp://127.0.0.1:{port}")
    for junk in (b"", b"\xc1", b"\x81\xa1v\x63", b"x" * 100000):
        dealer.send(junk)
    dealer.send_multipart([b"a", b"b", b"c"])
    # the remote-client port: junk instead of a request gets an error reply
    req = ctx.socket(zmq.REQ)
    req.setsockopt(zmq.LINGER, 0)
    req.setsockopt(zmq.RCVTIMEO, 5000)
    req.connect(f"tcp://127.0.0.1:{port + 1}")
    req.send(b"\xc1garbage")
    import msgpack
    reply = msgpack.unpackb(req.recv(), raw=False)
    assert reply["ok"] is False and reply["code"] == "BAD_REQUEST"
    dealer.close()
    req.close()
    time.sleep(0.5)
    assert cluster.client().ping()["up"]
    job_id = cluster.sbatch("--wrap", "true")
    assert cluster.wait_state(job_id, ("COMPLETED",)) == "COMPLETED"


def test_time_limit_ends_in_timeout(cluster):
    # Slurm's limits are whole minutes: this test waits a minute (plus KillWait=5 s for the trap)
    job_id = cluster.sbatch("-t", "1", "--wrap", "trap 'echo got TERM' TERM; while true; do sleep 1; done")
    cluster.wait_state(job_id, ("RUNNING",))
    assert cluster.wait_state(job_id, ("TIMEOUT", "COMPLETED", "FAILED"), timeout=90) == "TIMEOUT"
    out = open(os.path.join(cluster.workdir, f"slurm-{job_id}.out")).read()
    assert "got TERM" in out
    line = cluster.cmd("sacct", "-X", "-n", "-P", "-j", str(job_id), "-o", "State,Timelimit", check=True).stdout
    assert line.strip() == "TIMEOUT|00:01:00"


def test_scontrol_token_works_for_remote_client(cluster):
    from conf.slurmconf import load_config
    out = cluster.cmd("scontrol", "token", "lifespan=60", check=True).stdout.strip()
    assert out.startswith("SLURM_JWT=")
    from sdk.client import Client
    port = load_config(cluster.conf).slurmctld_port + 1
    assert Client(endpoint=f"tcp://127.0.0.1:{port}", token=out.split("=", 1)[1]).ping()["up"]


def test_up_from_a_slurm_conf(tmp_path):
    """slurm-local up --conf FILE: the nodes and partitions a slurm.conf declares, with the
    hosts, ports and paths it leaves out filled in."""
    from tests.e2e import harness
    conf = tmp_path / "site.conf"
    conf.write_text(
        "# a site's slurm.conf: no ports, hosts or paths\n"
        "ClusterName=site\nGresTypes=gpu\nKillWait=2\nSlurmdTimeout=20\nAuthType=auth/munge\n"
        "NodeName=DEFAULT RealMemory=1000 State=UNKNOWN\n"
        "NodeName=a[1-2] CPUs=2\n"
        "NodeName=g1 CPUs=4 RealMemory=2000 Gres=gpu:2\n"
        "PartitionName=debug Nodes=a[1-2] Default=YES MaxTime=30 State=UP\n"
        "PartitionName=gpus Nodes=g1 MaxTime=UNLIMITED State=UP\n")
    c = harness.start(tmp_path, conf=str(conf))
    try:
        names = sorted(n.name for n in c.client().nodes())
        assert names == ["a1", "a2", "g1"]
        sinfo = c.cmd("sinfo", "-h", "-o", "%P %D %l", check=True).stdout.split("\n")
        assert "debug* 2 30:00" in sinfo and "gpus 1 infinite" in sinfo
        job_id = c.sbatch("-p", "gpus", "--gres=gpu:2", "--wrap", "echo $CUDA_VISIBLE_DEVICES")
        assert c.wait_state(job_id, ("COMPLETED",)) == "COMPLETED"
        assert c.client().job(job_id).nodes == "g1"
        assert open(os.path.join(c.workdir, f"slurm-{job_id}.out")).read().strip() == "0,1"
    finally:
        harness.stop(c)


def test_up_reports_config_errors(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("NodeName=a1 CPUs=two\nPartitionName=p Nodes=zz9 Default=YES\nBogusKey=1\n")
    from tests.e2e.harness import BIN
    import subprocess
    proc = subprocess.run([os.path.join(BIN, "slurm-local"), "up", "--conf", str(conf), "--dir",
                           str(tmp_path / "c")], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    for line in (f"{conf}:1:", f"{conf}:2:", f"{conf}:3:"):
        assert line in proc.stderr, proc.stderr


def test_agent_link_needs_the_nodes_own_key(cluster):
    import zmq
    import zmq.auth
    from conf.slurmconf import load_config
    from nodeagent import wire
    config = load_config(cluster.conf)
    keys = config.raw["AgentKeysDir"]
    endpoint = f"tcp://127.0.0.1:{config.slurmctld_port}"
    ctx = zmq.Context.instance()
    before = cluster.client().call("stats")

    def dealer(identity: bytes, cert: str | None):
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.IDENTITY, identity)
        sock.setsockopt(zmq.LINGER, 0)
        if cert:
            public, secret = zmq.auth.load_certificate(os.path.join(keys, cert))
            sock.curve_secretkey, sock.curve_publickey = secret, public
            sock.curve_serverkey = zmq.auth.load_certificate(os.path.join(keys, "controller.key"))[0]
        sock.connect(endpoint)
        return sock

    lying = wire.RunEnded("n1", 999, 1, "exited", 0, 0, 0.0)
    plain = dealer(b"n1", None)                  # no key: the handshake never completes
    plain.send(wire.encode(lying))
    impostor = dealer(b"n1", "n2.key_secret")    # n2's key speaking for n1: dropped
    impostor.send(wire.encode(lying))
    time.sleep(1.0)
    after = cluster.client().call("stats")
    assert after["agent_frames_dropped"] >= before["agent_frames_dropped"] + 1
    plain.close()
    impostor.close()
    assert all(n.responding for n in cluster.client().nodes())


def test_sbatch_dependency_and_scontrol_changes(cluster):
    first = cluster.sbatch("--mem=100", "--wrap", "sleep 2")
    second = cluster.sbatch("--mem=100", "-d", f"afterok:{first}", "--wrap", "true")
    time.sleep(0.5)
    line = cluster.cmd("squeue", "-h", "-j", str(second), "-o", "%i %E %r", check=True).stdout.strip()
    assert line == f"{second} afterok:{first}(unfulfilled) Dependency"
    assert cluster.wait_state(second, ("COMPLETED",), timeout=30) == "COMPLETED"
    proc = cluster.cmd("sbatch", "-d", "afterok", "--wrap", "true")
    assert proc.returncode == 1 and "Batch job submission failed: Job dependency problem" in proc.stderr


def test_sbatch_wait_exits_with_the_jobs_code(cluster):
    proc = cluster.cmd("sbatch", "-W", "--wrap", "sleep 0.5; exit 3")
    assert proc.returncode == 3 and proc.stdout.startswith("Submitted batch job ")
    proc = cluster.cmd("sbatch", "--wait", "--parsable", "--wrap", "true")
    assert proc.returncode == 0


def test_scontrol_hold_release_update_and_drain(cluster):
    job_id = cluster.sbatch("--hold", "-t", "30", "--wrap", "true")
    assert cluster.cmd("scontrol", "update", f"jobid={job_id}", "timelimit=10", "name=renamed").returncode == 0
    job = cluster.client().job(job_id)
    assert (job.name, job.time_limit_min) == ("renamed", 10)
    proc = cluster.cmd("scontrol", "update", f"jobid={job_id}", "bogus=1")
    assert (proc.returncode, proc.stderr) == (1, "Update of this parameter is not supported: bogus=1\nRequest aborted\n")
    proc = cluster.cmd("scontrol", "hold", "99999")
    assert proc.returncode == 1
    assert proc.stderr == "Invalid job id specified for job 99999\nslurm_suspend error: Invalid job id specified\n"
    proc = cluster.cmd("scontrol", "update", "nodename=n1", "state=drain")
    assert proc.returncode == 1 and "You must specify a reason" in proc.stderr
    assert cluster.cmd("scontrol", "update", "nodename=n1", "state=drain", "reason=maint").returncode == 0
    assert "maint" in cluster.cmd("sinfo", "-R", check=True).stdout
    assert cluster.cmd("scontrol", "release", str(job_id)).returncode == 0
    assert cluster.wait_state(job_id, ("COMPLETED",)) == "COMPLETED"
    assert cluster.client().job(job_id).nodes == "n2"          # n1 is drained
    assert cluster.cmd("scontrol", "update", "nodename=n1", "state=resume").returncode == 0
    out = cluster.cmd("sdiag", check=True).stdout
    assert "Jobs submitted:" in out
