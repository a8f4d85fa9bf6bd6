"""slurm.conf parsing: real files, syntax, defaults, DEFAULT lines, includes and error reporting.

tests/conf/data/anchor-slurm.conf and anchor-gres.conf are copies of /etc/slurm/slurm.conf and
/etc/slurm/gres.conf as written by /work/shared/real-slurm/setup.sh for the real Slurm 22.05 here;
the expected node and partition values come from `scontrol show node n3` and
`scontrol show partition` on that Slurm.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from conf.errors import ConfError, ConfigError
from conf.model import NodeConfigState, PartitionState
from conf.slurmconf import load_config, parse_config_text
from conf.units import GresRequest

DATA = Path(__file__).parent / "data"
DAY = 86400


def test_real_slurm_conf_loads() -> None:
    config = load_config(str(DATA / "anchor-slurm.conf"))
    assert config.cluster_name == "anchor"
    assert config.control_hosts == ("localhost",)
    assert config.slurmctld_port == 16817
    assert config.slurmd_port == 16818
    assert config.state_save_location == "/tmp/real-slurm/state"
    assert config.slurmd_spool_dir == "/tmp/real-slurm/spool/%n"
    assert config.kill_wait == 5
    assert config.min_job_age == 300
    assert config.inactive_limit == 0
    assert config.return_to_service == 2
    assert config.select_type == "select/cons_tres"
    assert config.select_type_parameters == "CR_Core_Memory"
    assert config.priority_type == "priority/multifactor"
    assert (config.priority_weight_age, config.priority_weight_fairshare, config.priority_weight_job_size) == (1000, 10000, 100)
    assert config.gres_types == ("gpu",)
    assert [n.name for n in config.nodes] == ["n1", "n2", "n3", "n4"]
    # scontrol show node n3: CPUTot=8 Sockets=8 CoresPerSocket=1 ThreadsPerCore=1 RealMemory=32000 Gres=gpu:4
    n3 = config.node("n3")
    assert (n3.cpus, n3.sockets, n3.cores_per_socket, n3.threads_per_core) == (8, 8, 1, 1)
    assert n3.real_memory == 32000 and n3.gres == (GresRequest("gpu", "", 4),)
    assert (n3.node_hostname, n3.node_addr, n3.port, n3.weight, n3.tmp_disk) == ("localhost", "localhost", 17003, 1, 0)
    assert n3.state is NodeConfigState.UNKNOWN
    assert config.node_gpus("n3") == 4 and config.node_gpus("n1") == 0
    # scontrol show partition: cpu Default=YES MaxTime=UNLIMITED Nodes=n[1-2]; gpu Nodes=n[3-4]
    assert [(p.name, p.nodes, p.is_default) for p in config.partitions] == [
        ("cpu", ("n1", "n2"), True),
        ("gpu", ("n3", "n4"), False),
    ]
    cpu = config.partition("cpu")
    assert config.default_partition == cpu
    assert cpu.max_time is None and cpu.default_time is None and cpu.state is PartitionState.UP
    assert (cpu.max_nodes, cpu.min_nodes, cpu.priority_tier, cpu.priority_job_factor) == (None, 0, 1, 1)
    assert (cpu.allow_accounts, cpu.allow_groups, cpu.allow_qos, cpu.oversubscribe) == ("ALL", "ALL", "ALL", "NO")
    # keys we do not use load with a warning naming file and line
    assert f"{DATA / 'anchor-slurm.conf'}:6: warning: AuthType is accepted but not used" in config.warnings
    assert config.raw["AuthType"] == "auth/munge"
    assert config.raw["SlurmctldHost"] == "localhost"


def test_defaults_of_an_almost_empty_file() -> None:
    config = parse_config_text("NodeName=n1\nPartitionName=p Nodes=n1\n")
    assert config.cluster_name == "cluster"
    assert config.control_hosts == () and config.control_addr == ""
    assert (config.slurmctld_port, config.slurmd_port) == (6817, 6818)
    assert config.state_save_location == "/var/spool/slurmctld"
    assert config.slurmd_spool_dir == "/var/spool/slurmd"
    assert (config.kill_wait, config.min_job_age, config.first_job_id) == (30, 300, 1)
    assert (config.max_array_size, config.max_job_count, config.slurmd_timeout) == (1001, 10000, 300)
    assert config.job_requeue is True
    assert config.def_mem_per_cpu is None and config.max_mem_per_cpu is None
    assert config.scheduler_type == "sched/backfill" and dict(config.scheduler_parameters) == {}
    assert config.priority_max_age == 7 * DAY and config.priority_decay_half_life == 7 * DAY
    assert config.priority_favor_small is False and config.priority_flags == ()
    assert config.database_url == "" and config.slurmctld_socket == ""
    assert config.warnings == () and config.path == "<string>"
    node = config.node("n1")
    assert (node.cpus, node.real_memory, node.weight, node.node_hostname, node.node_addr, node.port) == (1, 1, 1, "n1", "n1", None)
    assert config.default_partition is None
    with pytest.raises(KeyError):
        config.node("n2")
    with pytest.raises(KeyError):
        config.partition("nope")


def test_global_values_are_typed() -> None:
    config = parse_config_text(
        """
        ClusterName=alpha
        SlurmctldHost=ctl1(10.0.0.1)
        SlurmctldHost=ctl2
        SlurmctldPort=6817-6818
        DefMemPerCPU=2G
        MaxMemPerCPU=8000
        JobRequeue=0
        SchedulerParameters=bf_interval=30,bf_continue,bf_window=2880
        PriorityMaxAge=14-0
        PriorityDecayHalfLife=0
        PriorityFavorSmall=YES
        PriorityFlags=fair_tree,MAX_TRES
        PriorityWeightTRES=CPU=1000,GRES/gpu=3000
        DatabaseURL=postgresql+psycopg://postgres@127.0.0.1/slurm
        SlurmctldSocket=/run/slurmctld.sock
        OverTimeLimit=UNLIMITED
        """
    )
    assert config.cluster_name == "alpha"
    assert config.control_hosts == ("ctl1", "ctl2") and config.control_addr == "10.0.0.1"
    assert config.slurmctld_port == 6817
    assert (config.def_mem_per_cpu, config.max_mem_per_cpu) == (2048, 8000)
    assert config.job_requeue is False
    assert dict(config.scheduler_parameters) == {"bf_interval": "30", "bf_continue": "", "bf_window": "2880"}
    assert config.priority_max_age == 14 * DAY and config.priority_decay_half_life == 0
    assert config.priority_favor_small is True
    assert config.priority_flags == ("FAIR_TREE", "MAX_TRES")
    assert dict(config.priority_weight_tres) == {"CPU": "1000", "GRES/gpu": "3000"}
    assert config.database_url.startswith("postgresql+psycopg://")
    assert config.slurmctld_socket == "/run/slurmctld.sock"
    assert config.over_time_limit == 65535


def test_keys_are_case_insensitive_and_comments_continuations_quotes_work() -> None:
    config = parse_config_text(
        "clustername=beta   # the name\n"
        "KILLWAIT=7\n"
        "GresTypes=gpu\n"
        "NodeName=g[1-2] \\\n"
        "   CPUs=16 Gres=gpu:a100:2,gpu:v100:1 \\\n"
        "   Feature=a100,ib Reason=\"under test # not a comment\" State=DRAIN\n"
        "nodename=h1 procs=4 features=big\n"
        "partitionname=all nodes=ALL default=yes\n"
    )
    assert config.cluster_name == "beta" and config.kill_wait == 7
    g1 = config.node("g1")
    assert g1.cpus == 16
    assert g1.gres == (GresRequest("gpu", "a100", 2), GresRequest("gpu", "v100", 1))
    assert config.node_gpus("g2") == 3
    assert g1.features == ("a100", "ib")
    assert g1.reason == "under test # not a comment" and g1.state == "DRAIN"
    assert config.node("h1").cpus == 4 and config.node("h1").features == ("big",)
    assert config.partition("all").nodes == ("g1", "g2", "h1")
    assert config.default_partition is not None and config.default_partition.name == "all"


def test_default_lines_apply_to_following_lines_and_accumulate() -> None:
    config = parse_config_text(
        """
        NodeName=DEFAULT CPUs=8 RealMemory=1000
        NodeName=a1
        NodeName=DEFAULT RealMemory=2000 Weight=5
        NodeName=a2
        NodeName=a3 CPUs=4
        PartitionName=DEFAULT MaxTime=1:00:00 State=DOWN
        PartitionName=p1 Nodes=a1
        PartitionName=DEFAULT DefaultTime=10
        PartitionName=p2 Nodes=a[2-3] MaxTime=2-0 State=UP
        """
    )
    a1, a2, a3 = (config.node(name) for name in ("a1", "a2", "a3"))
    assert (a1.cpus, a1.real_memory, a1.weight) == (8, 1000, 1)
    assert (a2.cpus, a2.real_memory, a2.weight) == (8, 2000, 5)
    assert (a3.cpus, a3.real_memory, a3.weight) == (4, 2000, 5)
    p1, p2 = config.partition("p1"), config.partition("p2")
    assert (p1.max_time, p1.default_time, p1.state) == (3600, None, PartitionState.DOWN)
    assert (p2.max_time, p2.default_time, p2.state) == (2 * DAY, 600, PartitionState.UP)


def test_cpus_follow_topology() -> None:
    config = parse_config_text(
        """
        NodeName=t1 Sockets=2 CoresPerSocket=16 ThreadsPerCore=2
        NodeName=t2 Boards=2 SocketsPerBoard=2 CoresPerSocket=4
        NodeName=t3 CPUs=64 CoresPerSocket=16 ThreadsPerCore=2
        NodeName=t4 Sockets=2 CoresPerSocket=4 CPUs=4
        """
    )
    assert config.node("t1").cpus == 64
    assert (config.node("t2").cpus, config.node("t2").sockets) == (16, 4)
    assert (config.node("t3").cpus, config.node("t3").sockets) == (64, 2)
    assert config.node("t4").cpus == 4


def test_per_node_hostnames_addresses_and_ports() -> None:
    config = parse_config_text("NodeName=n[1-3] NodeHostname=h[1-3] NodeAddr=10.0.0.[1-3] Port=[17001-17003]\n")
    assert [(n.node_hostname, n.node_addr, n.port) for n in config.nodes] == [
        ("h1", "10.0.0.1", 17001),
        ("h2", "10.0.0.2", 17002),
        ("h3", "10.0.0.3", 17003),
    ]


def test_partition_nodes_follow_declaration_order_without_duplicates() -> None:
    config = parse_config_text("NodeName=z1\nNodeName=a[1-2]\nPartitionName=p Nodes=a2,z1,a[1-2]\n")
    assert config.partition("p").nodes == ("z1", "a1", "a2")


def test_down_nodes_and_nodesets() -> None:
    config = parse_config_text(
        """
        NodeName=n[1-4] Feature=cpu
        NodeName=g1 Feature=gpu
        NodeSet=gpus Feature=gpu
        NodeSet=first Nodes=n[1-2]
        DownNodes=n3 State=DRAIN Reason="bad fan"
        PartitionName=p Nodes=first,gpus
        """
    )
    assert config.partition("p").nodes == ("n1", "n2", "g1")
    assert (config.node("n3").state, config.node("n3").reason) == ("DRAIN", "bad fan")


def test_includes_are_relative_to_the_including_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "nodes.conf").write_text("NodeName=n[1-2] CPUs=4\nInclude parts.conf\n")
    (tmp_path / "sub" / "parts.conf").write_text("PartitionName=p Nodes=ALL Default=YES\n")
    (tmp_path / "alpha-extra.conf").write_text("KillWait=9\n")
    main = tmp_path / "slurm.conf"
    main.write_text("ClusterName=alpha\ninclude sub/nodes.conf\nInclude %c-extra.conf\n")
    config = load_config(str(main))
    assert [n.name for n in config.nodes] == ["n1", "n2"]
    assert config.default_partition is not None and config.default_partition.nodes == ("n1", "n2")
    assert config.kill_wait == 9
    assert config.path == str(main)


def test_include_problems_are_reported_where_the_include_is(tmp_path: Path) -> None:
    loop = tmp_path / "loop.conf"
    loop.write_text("Include loop.conf\n")
    main = tmp_path / "slurm.conf"
    main.write_text(f"Include missing.conf\nInclude {loop}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(str(main))
    problems = caught.value.problems
    assert len(problems) == 2
    assert problems[0].startswith(f"{main}:1: cannot read included file {tmp_path / 'missing.conf'}")
    assert problems[1].startswith(f"{loop}:1: Include of {loop} makes a loop")


def test_missing_file() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config("/nonexistent/slurm.conf")
    assert "cannot read /nonexistent/slurm.conf" in str(caught.value)


BROKEN = """\
ClusterName=broken
KillWait=soon
FrobnicateLevel=3
MaxTime=1
NodeName=n[1-2] CPUs=four RealMemory=1X Gres=tpu:2
NodeName=n2
NodeName=bad[2-1]
PartitionName=a Nodes=n[1-3] Default=YES MaxTime=forever
PartitionName=b Nodes=n1 Default=YES DefaultTime=2:00:00 MaxTime=1:00:00
PartitionName=a Nodes=n1
PriorityMaxAge=-5
JustAWord
Reason="open quote
"""


def test_every_problem_is_reported_at_once_with_file_and_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config_text(BROKEN, "broken.conf")
    problems = caught.value.problems
    expected_prefixes = [
        "broken.conf:2: KillWait=soon:",
        "broken.conf:3: unknown key 'FrobnicateLevel'",
        "broken.conf:4: unknown key 'MaxTime'",
        "broken.conf:5: NodeName=n[1-2]: RealMemory=1X:",
        "broken.conf:5: NodeName=n[1-2]: CPUs=four:",
        "broken.conf:6: node n2 was already defined at broken.conf:5",
        "broken.conf:7: NodeName=bad[2-1]:",
        "broken.conf:8: partition a: node n3 is not declared",
        "broken.conf:8: partition a: MaxTime=forever:",
        "broken.conf:9: partition b: DefaultTime exceeds MaxTime",
        "broken.conf:9: partition b is Default=YES but so is the one at broken.conf:8",
        "broken.conf:10: partition a was already defined at broken.conf:8",
        "broken.conf:11: PriorityMaxAge=-5:",
        "broken.conf:12: expected Key=Value, found 'JustAWord'",
        "broken.conf:13: unmatched \" in value of Reason",
        "broken.conf:5: Gres tpu is not listed in GresTypes",
    ]
    for prefix in expected_prefixes:
        assert any(p.startswith(prefix) for p in problems), (prefix, problems)
    message = str(caught.value)
    assert message.splitlines()[0] == f"{len(problems)} errors in configuration:"
    assert isinstance(caught.value, ConfError) and isinstance(caught.value, ValueError)
    assert caught.value.exit_code == 1


def test_reserved_and_per_node_keys_on_default_lines() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config_text("NodeName=ALL CPUs=2\nNodeName=DEFAULT NodeAddr=x\nNodeName=n[1-3] NodeHostname=h[1-2]\n")
    problems = caught.value.problems
    assert problems[0].startswith("<string>:1: NodeName=ALL")
    assert problems[1] == "<string>:2: NodeAddr is not allowed with NodeName=DEFAULT"
    assert problems[2].startswith("<string>:3: NodeHostname=h[1-2] names 2 values for 3 nodes")


def test_unused_documented_keys_warn_and_repeated_keys_take_the_last_value() -> None:
    config = parse_config_text(
        "SwitchType=switch/none\nKillWait=10\nKillWait=20\n"
        "NodeName=n1 CoreSpecCount=1\nPartitionName=p Nodes=n1 GraceTime=5\n",
        "x.conf",
    )
    assert config.kill_wait == 20
    assert config.warnings == (
        "x.conf:1: warning: SwitchType is accepted but not used",
        "x.conf:3: warning: KillWait was already set at x.conf:2; the last value wins",
        "x.conf:4: warning: node key CoreSpecCount is accepted but not used",
        "x.conf:5: warning: partition key GraceTime is accepted but not used",
    )


def test_partition_values() -> None:
    config = parse_config_text(
        "NodeName=n1\nPartitionName=p Nodes=n1 MaxNodes=4 MinNodes=1 PriorityTier=10 PriorityJobFactor=3 "
        "Hidden=YES RootOnly=yes OverSubscribe=force:4 AllowAccounts=a,b AllowQos=normal "
        "DefMemPerCPU=1G MaxMemPerCPU=4G OverTimeLimit=5 State=INACTIVE MaxTime=UNLIMITED DefaultTime=NONE\n"
    )
    p = config.partition("p")
    assert (p.max_nodes, p.min_nodes, p.priority_tier, p.priority_job_factor) == (4, 1, 10, 3)
    assert (p.hidden, p.root_only, p.oversubscribe) == (True, True, "FORCE:4")
    assert (p.allow_accounts, p.allow_qos, p.allow_groups) == ("a,b", "normal", "ALL")
    assert (p.def_mem_per_cpu, p.max_mem_per_cpu, p.over_time_limit) == (1024, 4096, 5)
    assert p.state is PartitionState.INACTIVE and p.max_time is None and p.default_time is None


def test_empty_nodes_list_is_allowed() -> None:
    config = parse_config_text("PartitionName=empty Nodes=\n")
    assert config.partition("empty").nodes == ()


def test_config_is_frozen() -> None:
    config = parse_config_text("NodeName=n1\n")
    with pytest.raises(AttributeError):
        config.kill_wait = 3  # type: ignore[misc]
    assert dataclasses.asdict(config)["nodes"][0]["name"] == "n1"
    assert dataclasses.replace(config, nodes=()).nodes == ()


def test_apostrophes_are_not_quotes() -> None:
    config = parse_config_text("NodeName=n1 Reason=don't State=DOWN\n")
    assert config.node("n1").reason == "don't"


@pytest.mark.skipif(not os.path.exists("/etc/slurm/slurm.conf"), reason="no real Slurm on this machine")
def test_live_etc_slurm_conf_loads() -> None:
    load_config("/etc/slurm/slurm.conf")
