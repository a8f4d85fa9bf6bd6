"""The validated, frozen records a slurm.conf becomes.

Records are frozen; their dict fields are plain dicts by contract (treat them as read-only).
Times are seconds (None = UNLIMITED unless a field says otherwise), memory is MiB, node lists are
expanded names. Defaults are Slurm's (slurm.conf(5), `scontrol show config` of Slurm 22.05), except
where this project's scheduler differs (SelectType cons_tres, PriorityType multifactor, as Slurm
23.11+).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from conf.units import GresRequest

__all__ = ["Config", "NodeConfig", "NodeConfigState", "PartitionConfig", "PartitionState"]


SEVEN_DAYS = 7 * 86400


class NodeConfigState(enum.StrEnum):
    """A node's State= in slurm.conf (its state before it registers)."""

    UNKNOWN = "UNKNOWN"
    IDLE = "IDLE"
    DOWN = "DOWN"
    DRAIN = "DRAIN"
    FAIL = "FAIL"
    FAILING = "FAILING"
    FUTURE = "FUTURE"
    CLOUD = "CLOUD"


class PartitionState(enum.StrEnum):
    UP = "UP"
    DOWN = "DOWN"
    DRAIN = "DRAIN"
    INACTIVE = "INACTIVE"


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeConfig:
    name: str
    cpus: int = 1
    boards: int = 1
    sockets: int = 1  # in total, over all boards
    cores_per_socket: int = 1
    threads_per_core: int = 1
    real_memory: int = 1  # MiB
    tmp_disk: int = 0  # MiB
    gres: tuple[GresRequest, ...] = ()
    features: tuple[str, ...] = ()
    weight: int = 1
    state: NodeConfigState = NodeConfigState.UNKNOWN
    reason: str = ""
    node_addr: str = ""  # defaults to node_hostname
    node_hostname: str = ""  # defaults to name
    port: int | None = None  # None: SlurmdPort

    def gres_count(self, name: str) -> int:
        return sum(item.count for item in self.gres if item.name == name)


@dataclass(frozen=True, slots=True, kw_only=True)
class PartitionConfig:
    name: str
    nodes: tuple[str, ...] = ()  # in node declaration order
    is_default: bool = False
    max_time: int | None = None  # seconds; None = UNLIMITED
    default_time: int | None = None  # seconds; None = not set (MaxTime applies)
    state: PartitionState = PartitionState.UP
    max_nodes: int | None = None  # None = UNLIMITED
    min_nodes: int = 0
    max_cpus_per_node: int | None = None
    priority_tier: int = 1
    priority_job_factor: int = 1
    hidden: bool = False
    root_only: bool = False
    oversubscribe: str = "NO"  # NO, YES[:n], FORCE[:n], EXCLUSIVE
    allow_accounts: str = "ALL"
    allow_groups: str = "ALL"
    allow_qos: str = "ALL"
    deny_accounts: str = ""
    deny_qos: str = ""
    qos: str = ""
    def_mem_per_cpu: int | None = None  # MiB; None = cluster value
    max_mem_per_cpu: int | None = None
    def_mem_per_node: int | None = None
    max_mem_per_node: int | None = None
    over_time_limit: int | None = None  # minutes; None = cluster value
    tres_billing_weights: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    path: str = "<string>"
    cluster_name: str = "cluster"
    control_hosts: tuple[str, ...] = ()
    control_addr: str = ""
    slurmctld_port: int = 6817
    slurmd_port: int = 6818
    slurm_user: str = "root"
    state_save_location: str = "/var/spool/slurmctld"
    slurmd_spool_dir: str = "/var/spool/slurmd"
    tmp_fs: str = "/tmp"
    kill_wait: int = 30  # seconds
    min_job_age: int = 300  # seconds
    first_job_id: int = 1
    max_job_id: int = 67043328
    max_array_size: int = 1001
    max_job_count: int = 10000
    slurmd_timeout: int = 300  # seconds
    slurmctld_timeout: int = 120  # seconds
    inactive_limit: int = 0  # seconds
    job_requeue: bool = True
    job_file_append: bool = False
    return_to_service: int = 0
    over_time_limit: int = 0  # minutes
    def_mem_per_cpu: int | None = None  # MiB; None = not set
    max_mem_per_cpu: int | None = None
    def_mem_per_node: int | None = None
    max_mem_per_node: int | None = None
    enforce_part_limits: str = "NO"
    scheduler_type: str = "sched/backfill"
    scheduler_parameters: dict[str, str] = field(default_factory=dict)  # flags map to ""
    select_type: str = "select/cons_tres"
    select_type_parameters: str = "CR_Core_Memory"
    priority_type: str = "priority/multifactor"
    priority_weight_age: int = 0
    priority_weight_assoc: int = 0
    priority_weight_fairshare: int = 0
    priority_weight_job_size: int = 0
    priority_weight_partition: int = 0
    priority_weight_qos: int = 0
    priority_weight_tres: dict[str, str] = field(default_factory=dict)
    priority_max_age: int = SEVEN_DAYS  # seconds
    priority_decay_half_life: int = SEVEN_DAYS  # seconds; 0 = no decay
    priority_calc_period: int = 300  # seconds
    priority_favor_small: bool = False
    priority_flags: tuple[str, ...] = ()
    priority_usage_reset_period: str = "NONE"
    fair_share_dampening_factor: int = 1
    preempt_type: str = "preempt/none"
    preempt_mode: str = "OFF"
    accounting_storage_type: str = ""
    accounting_storage_enforce: tuple[str, ...] = ()
    gres_types: tuple[str, ...] = ()
    database_url: str = ""  # ours: where the controller keeps its state
    slurmctld_socket: str = ""  # ours: the local client socket
    nodes: tuple[NodeConfig, ...] = ()
    partitions: tuple[PartitionConfig, ...] = ()
    raw: dict[str, str] = field(default_factory=dict)  # every global key as written (canonical case)
    warnings: tuple[str, ...] = ()
    # name -> record, built once: the controller looks nodes up on every submit
    _node_index: dict[str, NodeConfig] = field(init=False, repr=False, compare=False)
    _partition_index: dict[str, PartitionConfig] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_node_index", {n.name: n for n in self.nodes})
        object.__setattr__(self, "_partition_index", {p.name: p for p in self.partitions})

    def node(self, name: str) -> NodeConfig:
        """The node called `name`; KeyError if slurm.conf does not declare it."""
        return self._node_index[name]

    def partition(self, name: str) -> PartitionConfig:
        """The partition called `name`; KeyError if slurm.conf does not declare it."""
        return self._partition_index[name]

    @property
    def default_partition(self) -> PartitionConfig | None:
        return next((p for p in self.partitions if p.is_default), None)

    def node_gpus(self, name: str) -> int:
        return self.node(name).gres_count("gpu")
