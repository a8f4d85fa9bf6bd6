"""Typed records of the client protocol: what a client submits and what it reads back.

They travel as msgpack maps of their fields (`to_wire` / `from_wire`); unknown keys from a newer
controller are ignored so old clients keep working. Times are Unix seconds (int, 0 = unset);
memory is MiB; time limits are minutes (None = UNLIMITED).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields


class _Wire:
    __slots__ = ()

    def to_wire(self) -> dict:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_wire(cls, data: dict):
        names = cls._field_names()  # type: ignore[attr-defined]
        return cls(**{k: v for k, v in data.items() if k in names})

    @classmethod
    def _field_names(cls) -> frozenset[str]:
        cached = cls.__dict__.get("_names_cache")
        if cached is None:
            cached = frozenset(f.name for f in fields(cls))  # type: ignore[arg-type]
            setattr(cls, "_names_cache", cached)
        return cached


@dataclass(frozen=True)
class JobSpec(_Wire):
    """A batch job as sbatch (or the SDK) submits it. The submitter's uid/gid never travel here:
    the controller takes them from the connection."""

    script: str                                   # full script text (starts with #!)
    name: str = "sbatch"
    partition: str = ""                           # '' = default partition; may be 'a,b'
    argv: list[str] = field(default_factory=list) # script arguments
    work_dir: str = ""                            # -D; '' = submit dir
    submit_dir: str = ""
    submit_host: str = ""
    stdout: str = ""                              # pattern; '' = slurm-%j.out
    stderr: str = ""                              # pattern; '' = same as stdout
    stdin: str = ""                               # '' = /dev/null
    environment: dict[str, str] = field(default_factory=dict)  # exported environment
    export: str = "ALL"                           # --export value as given (for SLURM_EXPORT_ENV)
    min_nodes: int = 1
    max_nodes: int = 0                            # 0 = same as min_nodes
    nodes_set: bool = False                       # -N given
    ntasks: int = 1
    ntasks_set: bool = False                      # -n given (SLURM_NTASKS is exported only then)
    ntasks_per_node: int = 0                      # 0 = unset
    cpus_per_task: int = 1
    cpus_per_task_set: bool = False
    mem_per_node_mb: int | None = None            # --mem (0 = whole node)
    mem_per_cpu_mb: int | None = None             # --mem-per-cpu
    gres: str = ""                                # --gres as given, e.g. 'gpu:a100:2'
    gpus: str = ""                                # --gpus/-G as given, e.g. 'a100:4' or '4'
    gpus_per_node: str = ""                       # --gpus-per-node as given
    time_limit_min: int | None = None             # -t in minutes; None = partition default; 0 = no limit
    hold: bool = False
    requeue: bool | None = None                   # None = cluster default (JobRequeue)
    account: str = ""
    qos: str = ""
    comment: str = ""
    nice: int = 0
    exclusive: bool = False
    nodelist: str = ""                            # -w hostlist
    exclude: str = ""                             # -x hostlist
    constraint: str = ""
    begin_time: int = 0
    dependency: str = ""
    open_mode: str = ""                           # '' | 'append' | 'truncate'
    kill_on_invalid_dep: bool | None = None
    submit_line: str = ""                         # the sbatch command line, for sacct SubmitLine
    command: str = ""                             # absolute path of the script file (scontrol Command=)
    array: str = ""                               # --array as given ('' = not an array job)
    signal: int = 0                               # --signal number (0 = none)
    signal_time: int = 0                          # ... sent this many seconds before the time limit
    signal_flags: str = ""                        # 'B' (batch shell only), 'R', 'RB'
    deadline: int = 0                             # --deadline (Unix seconds, 0 = none)
    mail_type: str = ""                           # canonical --mail-type words ('' = none)
    mail_user: str = ""
    wckey: str = ""
    reservation: str = ""
    cpus_per_gpu: int = 0
    mem_per_gpu_mb: int | None = None
    gpus_per_task: str = ""                       # --gpus-per-task as given
    priority: int | None = None                   # --priority (operators only)
    min_cpus: int = 0                             # scontrol update NumCPUs= (0 = ntasks x cpus per task)
    time_min: int = 0                             # --time-min in minutes (0 = none)


@dataclass(frozen=True)
class JobInfo(_Wire):
    """One job as squeue / scontrol show job see it."""

    job_id: int
    name: str
    user: str
    uid: int
    gid: int
    group: str
    partition: str
    state: str                         # Slurm long name: PENDING, RUNNING, COMPLETED, ...
    reason: str = "None"               # pending/failure reason in Slurm's words
    reason_detail: str = ""            # structured diagnosis text (which resource is short, where)
    account: str = ""
    qos: str = "normal"
    priority: int = 0
    nice: int = 0
    submit_time: int = 0
    eligible_time: int = 0
    start_time: int = 0                # actual, or expected for pending (0 = unknown)
    end_time: int = 0                  # actual, or start + limit while running
    suspend_time: int = 0
    time_limit_min: int | None = None  # None = UNLIMITED
    num_nodes: int = 1
    max_nodes: int = 0
    num_cpus: int = 1
    num_tasks: int = 1
    cpus_per_task: int = 1
    ntasks_per_node: int = 0
    mem_per_node_mb: int | None = None
    mem_per_cpu_mb: int | None = None
    tres_per_node: str = ""            # e.g. 'gres/gpu:2'
    req_tres: str = ""                 # 'cpu=2,mem=1000M,node=1,billing=2,gres/gpu=2'
    alloc_tres: str = ""
    nodes: str = ""                    # allocated nodes, compressed hostlist
    sched_nodes: str = ""              # expected nodes for a pending job
    batch_host: str = ""
    req_nodes: str = ""
    exc_nodes: str = ""
    features: str = ""
    work_dir: str = ""
    command: str = ""
    stdout: str = ""                   # expanded paths
    stderr: str = ""
    stdin: str = "/dev/null"
    exit_code: int = 0                 # process exit status (0-255)
    exit_signal: int = 0
    derived_exit_code: int = 0
    derived_exit_signal: int = 0
    requeue: bool = True
    restarts: int = 0
    held: bool = False
    dependency: str = ""
    comment: str = ""
    exclusive: bool = False
    gpus: list[int] = field(default_factory=list)   # GPU indices on the batch host, when running
    cancelled_by: int | None = None    # uid of the canceller (sacct 'CANCELLED by N')
    submit_line: str = ""
    array_job_id: int = 0
    array_task_id: int | None = None
    array_task_str: str = ""           # an array's pending record: the indices not started yet ('1-9')
    array_max_tasks: int = 0           # its throttle (%N; 0 = none)
    deadline: int = 0
    time_min_min: int | None = None    # TimeMin in minutes (None = N/A)
    mail_type: str = ""
    mail_user: str = ""
    wckey: str = ""
    reservation: str = ""
    tres_per_job: str = ""             # 'gres:gpu:2' (--gpus)
    tres_per_task: str = ""            # 'gres:gpu:1'
    cpus_per_tres: str = ""            # 'gres:gpu:2'
    mem_per_tres: str = ""             # 'gres:gpu:1024'


@dataclass(frozen=True)
class NodeInfo(_Wire):
    """One node as sinfo / scontrol show node see it."""

    name: str
    state: str                         # IDLE, MIXED, ALLOCATED, DOWN, DRAINED, DRAINING, ...
    cpus: int
    cpus_alloc: int = 0
    real_memory_mb: int = 0
    alloc_memory_mb: int = 0
    free_memory_mb: int | None = None
    gres: str = ""                     # 'gpu:4' or 'gpu:a100:4'
    gres_used: str = ""                # 'gpu:2(IDX:0-1)'
    partitions: list[str] = field(default_factory=list)
    reason: str = ""
    reason_user: str = ""
    reason_time: int = 0
    features: str = ""
    weight: int = 1
    boot_time: int = 0
    last_busy_time: int = 0
    slurmd_start_time: int = 0
    responding: bool = True
    address: str = ""
    hostname: str = ""
    arch: str = ""
    os: str = ""
    sockets: int = 1
    cores_per_socket: int = 1
    threads_per_core: int = 1
    version: str = ""


@dataclass(frozen=True)
class PartitionInfo(_Wire):
    """One partition as sinfo / scontrol show partition see it."""

    name: str
    nodes: str                         # compressed hostlist
    state: str = "UP"
    is_default: bool = False
    max_time_min: int | None = None    # None = UNLIMITED
    default_time_min: int | None = None
    max_nodes: int | None = None
    min_nodes: int = 0
    total_nodes: int = 0
    total_cpus: int = 0
    priority_tier: int = 1
    priority_job_factor: int = 1
    hidden: bool = False
    root_only: bool = False
    oversubscribe: str = "NO"
    allow_groups: str = "ALL"
    allow_accounts: str = "ALL"
    allow_qos: str = "ALL"
    def_mem_per_cpu_mb: int | None = None
    max_mem_per_cpu_mb: int | None = None


@dataclass(frozen=True)
class StepRecord(_Wire):
    """One step row of sacct ('123.batch', '123.extern', '123.0')."""

    step_id: str                       # 'batch', 'extern', '0', ...
    name: str
    state: str
    exit_code: int = 0
    exit_signal: int = 0
    start_time: int = 0
    end_time: int = 0
    nodes: str = ""
    num_nodes: int = 1
    num_cpus: int = 1
    num_tasks: int = 1
    alloc_tres: str = ""
    max_rss_kb: int | None = None
    total_cpu_s: float | None = None


@dataclass(frozen=True)
class AcctRecord(_Wire):
    """One job as sacct reads it from the accounting database, with its steps."""

    job: JobInfo
    steps: list[StepRecord] = field(default_factory=list)

    def to_wire(self) -> dict:
        return {"job": self.job.to_wire(), "steps": [s.to_wire() for s in self.steps]}

    @classmethod
    def from_wire(cls, data: dict) -> "AcctRecord":
        return cls(job=JobInfo.from_wire(data["job"]),
                   steps=[StepRecord.from_wire(s) for s in data.get("steps", ())])
