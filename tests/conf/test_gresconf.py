"""gres.conf parsing. anchor-gres.conf is a copy of /etc/slurm/gres.conf written by
/work/shared/real-slurm/setup.sh for the real Slurm 22.05 here."""

from __future__ import annotations

from pathlib import Path

import pytest

from conf.errors import ConfigError
from conf.gresconf import GresLine, load_gres_conf, parse_gres_conf_text

DATA = Path(__file__).parent / "data"


def test_real_gres_conf_loads() -> None:
    (line,) = load_gres_conf(str(DATA / "anchor-gres.conf"))
    assert line.node_names == ("n3", "n4")
    assert line.name == "gpu" and line.type == ""
    assert line.files == tuple(f"/tmp/real-slurm/fakegpu{i}" for i in range(4))
    assert line.count == 4
    assert line.applies_to("n3") and not line.applies_to("n1")


def test_fields_defaults_and_autodetect() -> None:
    lines = parse_gres_conf_text(
        """
        AutoDetect=nvml
        NodeName=g[01-02] Name=gpu Type=a100 File=/dev/nvidia[0-3] Cores=0-15,32 Flags=CountOnly,nvidia_gpu_env
        Name=mps Count=400 File=/dev/nvidia0
        NodeName=c1 Name=bandwidth Count=4G AutoDetect=off
        Name=shard Count=8
        """,
        "gres.conf",
    )
    gpu, mps, bandwidth, shard = lines
    assert gpu == GresLine(
        node_names=("g01", "g02"),
        name="gpu",
        type="a100",
        files=("/dev/nvidia0", "/dev/nvidia1", "/dev/nvidia2", "/dev/nvidia3"),
        count=4,
        cores=(*range(16), 32),
        flags=("CountOnly", "nvidia_gpu_env"),
        autodetect="nvml",
        where="gres.conf:3",
    )
    assert mps.node_names == () and mps.count == 400 and mps.applies_to("anything")
    assert bandwidth.count == 4 * 1024**3 and bandwidth.autodetect == "off"
    assert shard.count == 8 and shard.files == ()


def test_all_gres_conf_problems_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_gres_conf_text(
            "Name=gpu File=/dev/nvidia[0-1] Count=3\n"
            "Name=gpu Flags=bogus\n"
            "NodeName=n[2-1] Name=gpu\n"
            "Name=gpu Colour=red\n"
            "Type=a100\n"
            "Name=gpu Cores=x\n"
            "AutoDetect=magic\n"
            "Name=gpu Count=many\n",
            "g.conf",
        )
    problems = caught.value.problems
    for prefix in (
        "g.conf:1: Count=3 but File= names 2 devices",
        "g.conf:2: unknown Flags value 'bogus'",
        "g.conf:3: NodeName=n[2-1]:",
        "g.conf:4: unknown gres.conf key 'Colour'",
        "g.conf:5: a GRES line needs Name=",
        "g.conf:6: Cores=x:",
        "g.conf:7: AutoDetect=magic:",
        "g.conf:8: Count=many: not a count",
    ):
        assert any(p.startswith(prefix) for p in problems), (prefix, problems)
