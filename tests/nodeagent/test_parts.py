"""The agent's parts without a controller: GPU detection, settings, spool, exit statuses."""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time

import pytest

from nodeagent import gpus as gpu_mod
from nodeagent.errors import AgentError
from nodeagent.gpus import DetectedGpu, detect_gpus, gpu_type_from_name, node_gpus
from nodeagent.procs import exit_info, is_same_process, proc_start_ticks
from nodeagent.settings import parse_args, parse_gres
from nodeagent.spool import RunPhase, RunRecord, RunResult, Spool
from nodeagent.wire import GpuSpec


# ---- GPUs -----------------------------------------------------------------------------------

class FakeNvml:
    """Behaves like libnvidia-ml through ctypes: out-parameters are byref() objects."""

    def __init__(self, devices: list[tuple[str, str]], init_rc: int = 0, bad_index: int = -1):
        self.devices, self.init_rc, self.bad_index = devices, init_rc, bad_index
        self.shutdown = False

    def nvmlInit_v2(self):
        return self.init_rc

    def nvmlDeviceGetCount_v2(self, count):
        count._obj.value = len(self.devices)
        return 0

    def nvmlDeviceGetHandleByIndex_v2(self, index, handle):
        if index.value == self.bad_index:
            return 2
        handle._obj.value = index.value + 1      # a non-null opaque handle
        return 0

    def nvmlDeviceGetName(self, handle, buffer, length):
        name = self.devices[handle.value - 1][0].encode()
        ctypes.memmove(buffer, name + b"\0", len(name) + 1)
        return 0

    def nvmlDeviceGetUUID(self, handle, buffer, length):
        uuid = self.devices[handle.value - 1][1].encode()
        ctypes.memmove(buffer, uuid + b"\0", len(uuid) + 1)
        return 0

    def nvmlShutdown(self):
        self.shutdown = True
        return 0


def test_detection_without_a_driver_finds_nothing():
    assert gpu_mod.load_nvml() is None          # no NVIDIA driver on the test machine
    assert detect_gpus() == []


def test_detection_reads_names_and_uuids():
    fake = FakeNvml([("NVIDIA H200", "GPU-aaa"), ("NVIDIA H200", "GPU-bbb")])
    assert detect_gpus(lambda: fake) == [DetectedGpu(0, "NVIDIA H200", "GPU-aaa"),
                                         DetectedGpu(1, "NVIDIA H200", "GPU-bbb")]
    assert fake.shutdown


def test_detection_survives_nvml_errors():
    assert detect_gpus(lambda: FakeNvml([("NVIDIA A100", "GPU-1")], init_rc=9)) == []
    found = detect_gpus(lambda: FakeNvml([("A", "GPU-1"), ("B", "GPU-2")], bad_index=0))
    assert [g.index for g in found] == [1]


@pytest.mark.parametrize("name, expected", [
    ("NVIDIA H200", "h200"), ("NVIDIA A100-SXM4-80GB", "a100-sxm4-80gb"),
    ("Tesla V100-PCIE-16GB", "tesla_v100-pcie-16gb"), ("NVIDIA GeForce RTX 4090", "geforce_rtx_4090"),
])
def test_gpu_type_from_name(name, expected):
    assert gpu_type_from_name(name) == expected


def test_declared_gpus_win_and_detection_fills_in(caplog):
    seen = [DetectedGpu(0, "NVIDIA H200", "GPU-a"), DetectedGpu(1, "NVIDIA H200", "GPU-b")]
    assert node_gpus(["", "", ""], seen) == [GpuSpec(0, "h200", "GPU-a"), GpuSpec(1, "h200", "GPU-b"),
                                            GpuSpec(2, "", "")]
    assert "declared 3 GPUs but NVML detected 2" in caplog.text
    assert node_gpus(["a100"], []) == [GpuSpec(0, "a100", "")]
    assert node_gpus(None, seen[:1]) == [GpuSpec(0, "h200", "GPU-a")]
    assert node_gpus(None, []) == []


# ---- settings ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("gpu:a100:4", ["a100"] * 4), ("gpu:2", ["", ""]), ("gpu:a100:1,gpu:v100:2", ["a100", "v100", "v100"]),
    ("mps:100,gpu:1", [""]), ("gpu:h200:2(S:0-1)", ["h200", "h200"]), ("", []),
])
def test_parse_gres(text, expected):
    assert parse_gres(text) == expected


def test_flags():
    s = parse_args(["--node", "n9", "--controller", "tcp://10.0.0.1:6817", "--spool", "/sp",
                    "--cpus", "8", "--memory", "16000", "--gpus", "2", "--kill-wait", "3"])
    assert (s.node, s.controller, s.spool, s.cpus, s.memory_mb, s.gpus, s.kill_wait) == \
        ("n9", "tcp://10.0.0.1:6817", "/sp", 8, 16000, ["", ""], 3.0)
    assert parse_args(["--node", "x", "--controller", "tcp://h:1", "--spool", "/s"]).gpus is None
    with pytest.raises(AgentError, match="--controller is required"):
        parse_args(["--node", "x", "--spool", "/s"])


SLURM_CONF = """\
ClusterName=test
SlurmctldHost=localhost
SlurmctldPort=16817
SlurmdSpoolDir=/var/spool/slurmd/%n
KillWait=5
GresTypes=gpu
NodeName=n3 CPUs=8 RealMemory=32000 Gres=gpu:a100:4 State=UNKNOWN
PartitionName=gpu Nodes=n3 Default=YES MaxTime=INFINITE State=UP
"""


def test_conf_supplies_the_node_and_flags_override(tmp_path):
    path = tmp_path / "slurm.conf"
    path.write_text(SLURM_CONF)
    s = parse_args(["--node", "n3", "--conf", str(path)])
    assert (s.controller, s.spool, s.cpus, s.memory_mb, s.gpus, s.kill_wait) == \
        ("tcp://127.0.0.1:16817", "/var/spool/slurmd/n3", 8, 32000, ["a100"] * 4, 5.0)
    s = parse_args(["--node", "n3", "--conf", str(path), "--cpus", "2", "--spool", "/x", "--gpus", "1"])
    assert (s.cpus, s.spool, s.gpus) == (2, "/x", [""])
    with pytest.raises(AgentError, match="node n7 is not declared"):
        parse_args(["--node", "n7", "--conf", str(path)])


# ---- spool ------------------------------------------------------------------------------------

def test_spool_round_trip(tmp_path):
    spool = Spool(tmp_path / "spool")
    script = spool.write_script(3, 1, "#!/bin/sh\ntrue\n")
    assert script == tmp_path / "spool" / "job3.1" / "script"
    assert script.stat().st_mode & 0o777 == 0o700
    running = RunRecord(3, 1, RunPhase.RUNNING, pid=42, proc_start_ticks=7, start_time=1.5, time_limit=60.0)
    spool.save(running, durable=False)
    done = running.ended(RunResult("exited", 2, 0, 9.5, "", 1024, 0.25))
    spool.save(done)
    spool.write_script(4, 0, "#!/bin/sh\n")       # start interrupted before its record
    (tmp_path / "spool" / "unrelated").mkdir()
    assert spool.load_all() == [done, RunRecord(4, 0, RunPhase.LAUNCHING)]
    spool.remove(3, 1)
    spool.remove(4, 0)
    assert not spool.has_run(3, 1) and not spool.has_run(4, 0)


def test_spool_treats_a_corrupt_record_as_interrupted(tmp_path):
    spool = Spool(tmp_path)
    spool.write_script(5, 0, "#!/bin/sh\n")
    (tmp_path / "job5.0" / "run.json").write_text("{not json")
    assert spool.load_all() == [RunRecord(5, 0, RunPhase.LAUNCHING)]


# ---- processes -----------------------------------------------------------------------------------

def test_exit_info_follows_slurm_convention():
    proc = subprocess.Popen(["sh", "-c", "exit 7"])
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = 7
    info = exit_info(status, usage)
    assert (info.exit_code, info.signal) == (7, 0) and info.max_rss_kb > 0
    proc = subprocess.Popen(["sleep", "10"])
    os.kill(proc.pid, signal.SIGKILL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = -9
    assert (exit_info(status, usage).exit_code, exit_info(status, usage).signal) == (0, 9)


def test_process_identity():
    proc = subprocess.Popen(["sleep", "10"])
    try:
        ticks = proc_start_ticks(proc.pid)
        assert ticks and is_same_process(proc.pid, ticks)
        assert not is_same_process(proc.pid, ticks + 1)
    finally:
        proc.kill()
        proc.wait()
    time.sleep(0.01)
    assert proc_start_ticks(proc.pid) is None
    assert not is_same_process(0, 0)
