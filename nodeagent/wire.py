"""The controller <-> node agent protocol: one frozen dataclass per message, msgpack on the wire.

Every frame is a msgpack map {"v": PROTOCOL_VERSION, "kind": <kind>, ...fields}. Decoding checks
the size, the version, that the kind is known, and each field's type; it never builds classes from
names found in the payload. The controller imports this module; the agent owns it.

Flow (durability rules of DESIGN.md §4):
  agent -> ctld: Register (on start and whenever the controller's epoch changes), Heartbeat,
                 Ack (receipt of a Launch/Terminate/Signal; lets the controller drop its outbox row),
                 RunStarted, RunEnded (re-sent until EndAck: completions are spooled on the node).
  ctld -> agent: RegisterAck, HeartbeatAck, Launch, Terminate, Signal, EndAck.
A Launch for a (job_id, attempt) the agent already has (running or finished) is acknowledged and
otherwise ignored, so resending from the outbox after a crash is harmless.
"""
from __future__ import annotations

import functools
import types
import typing
from dataclasses import MISSING, asdict, dataclass, fields

import msgpack

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 16 * 1024 * 1024     # a batch script is capped well below this (see Launch)


class WireError(ValueError):
    """A frame that cannot be decoded into a known message; the receiver drops it and logs."""


@dataclass(frozen=True, slots=True)
class RunRef:
    job_id: int
    attempt: int


@dataclass(frozen=True, slots=True)
class GpuSpec:
    index: int
    type: str = ""
    uuid: str = ""


# ---- agent -> controller ----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Register:
    node: str
    cpus: int
    memory_mb: int
    gpus: list[GpuSpec]
    boot_time: float
    agent_start_time: float
    version: str
    active: list[RunRef]           # runs the agent is executing now
    finished: list[RunRef]         # runs that ended and whose RunEnded is not yet acknowledged
    hostname: str = ""
    arch: str = ""
    os: str = ""


@dataclass(frozen=True, slots=True)
class Heartbeat:
    node: str
    controller_epoch: str          # the epoch from the last RegisterAck ('' before any)
    active: list[RunRef]


@dataclass(frozen=True, slots=True)
class Ack:
    node: str
    msg_id: int                    # the Launch/Terminate/Signal being acknowledged


@dataclass(frozen=True, slots=True)
class RunStarted:
    node: str
    job_id: int
    attempt: int
    pid: int
    start_time: float


@dataclass(frozen=True, slots=True)
class RunEnded:
    """A run is over. outcome: 'exited' (the script ended by itself, exit_code/signal say how),
    'cancelled', 'timeout', 'launch_failed' (message says why), 'node_fail'."""

    node: str
    job_id: int
    attempt: int
    outcome: str
    exit_code: int
    signal: int
    end_time: float
    message: str = ""
    max_rss_kb: int = 0
    cpu_seconds: float = 0.0


# ---- controller -> agent ----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RegisterAck:
    controller_epoch: str          # changes on every controller start; a change means "register again"
    heartbeat_interval: float
    kill_wait: float


@dataclass(frozen=True, slots=True)
class HeartbeatAck:
    controller_epoch: str


@dataclass(frozen=True, slots=True)
class Launch:
    msg_id: int
    job_id: int
    attempt: int
    script: str
    argv: list[str]
    environment: dict[str, str]    # complete environment of the batch script
    work_dir: str
    stdout: str                    # absolute, already expanded path
    stderr: str                    # absolute, already expanded path (may equal stdout)
    stdin: str
    uid: int
    gid: int
    time_limit: float | None       # seconds from start; None = unlimited; the agent enforces it
    cpus: int
    memory_mb: int
    gpus: list[int]
    open_mode: str = "truncate"    # 'truncate' | 'append'
    warn_signal: int = 0           # sbatch --signal: sent warn_time seconds before the time limit
    warn_time: float = 0.0
    warn_batch_only: bool = False  # --signal=B:...: to the batch shell only, not its whole group


@dataclass(frozen=True, slots=True)
class Terminate:
    """End a run: SIGCONT+SIGTERM to its process group, SIGKILL after kill_wait seconds.
    reason becomes RunEnded.outcome ('cancelled', 'timeout', 'node_fail')."""

    msg_id: int
    job_id: int
    attempt: int
    reason: str
    kill_wait: float


@dataclass(frozen=True, slots=True)
class Signal:
    """Deliver a signal without ending the job (scancel --signal). batch_only: only the batch shell
    (scancel -b); full: the whole process group (scancel -f); neither: the job's steps, that is
    every process of the group but the batch shell (Slurm's default)."""

    msg_id: int
    job_id: int
    attempt: int
    signal: int
    batch_only: bool = False
    full: bool = True


@dataclass(frozen=True, slots=True)
class EndAck:
    job_id: int
    attempt: int


# ---- job steps (srun) -------------------------------------------------------------------------
# ctld -> agent: StepLaunch (this node's share of a step's tasks), StepSignal, StepTerminate,
# StepEndAck; agent -> ctld: Ack, StepEnded (re-sent until StepEndAck). A step's I/O and each
# task's exit status go straight from the agent to srun (nodeagent/steps.py, sdk/steps.py).

@dataclass(frozen=True, slots=True)
class TaskExit:
    task_id: int
    exit_code: int
    signal: int


@dataclass(frozen=True, slots=True)
class StepLaunch:
    msg_id: int
    job_id: int
    attempt: int
    step_id: int
    argv: list[str]
    environment: dict[str, str]    # the step's environment; the agent adds the per-task variables
    work_dir: str
    tasks: list[int]               # global task ids (SLURM_PROCID) that run on this node
    node_index: int                # SLURM_NODEID: this node's place in the step's node list
    stdout: str                    # '' = forward to srun, else a pattern (%t %n %N %j %s %u %x %%)
    stderr: str                    # '' = forward to srun (or the stdout file when stdout is one)
    io_host: str                   # where srun listens for the step's I/O and task exits
    io_port: int
    io_key: str                    # shared secret the agent presents to srun
    uid: int
    gid: int
    cpus: int                      # the job's CPUs on this node (SLURM_CPUS_ON_NODE)
    gpus: list[int]                # the job's GPUs on this node
    user_name: str = ""
    job_name: str = ""
    stdin: str = ""                # which tasks srun feeds its stdin: 'all', a task id; '' = none


@dataclass(frozen=True, slots=True)
class StepSignal:
    msg_id: int
    job_id: int
    step_id: int
    signal: int


@dataclass(frozen=True, slots=True)
class StepTerminate:
    """SIGCONT+SIGTERM to every task of the step here, SIGKILL after kill_wait seconds."""

    msg_id: int
    job_id: int
    step_id: int
    kill_wait: float
    reason: str = ""               # 'timeout' when the job's time limit ends it


@dataclass(frozen=True, slots=True)
class StepEnded:
    node: str
    job_id: int
    step_id: int
    tasks: list[TaskExit]
    end_time: float
    max_rss_kb: int = 0
    cpu_seconds: float = 0.0
    srun_lost: bool = False        # srun's connection broke first: the step was killed for it


@dataclass(frozen=True, slots=True)
class StepEndAck:
    job_id: int
    step_id: int


Message = (Register | Heartbeat | Ack | RunStarted | RunEnded | RegisterAck | HeartbeatAck
           | Launch | Terminate | Signal | EndAck | StepLaunch | StepSignal | StepTerminate
           | StepEnded | StepEndAck)

_KINDS: dict[str, type] = {
    cls.__name__: cls
    for cls in (Register, Heartbeat, Ack, RunStarted, RunEnded, RegisterAck, HeartbeatAck,
                Launch, Terminate, Signal, EndAck, StepLaunch, StepSignal, StepTerminate,
                StepEnded, StepEndAck)
}
_NESTED = {"RunRef": RunRef, "GpuSpec": GpuSpec, "TaskExit": TaskExit}


def encode(msg: Message) -> bytes:
    body = asdict(msg)
    body["v"] = PROTOCOL_VERSION
    body["kind"] = type(msg).__name__
    return msgpack.packb(body, use_bin_type=True)


def decode(frame: bytes) -> Message:
    if len(frame) > MAX_FRAME_BYTES:
        raise WireError(f"frame of {len(frame)} bytes exceeds {MAX_FRAME_BYTES}")
    try:
        body = msgpack.unpackb(frame, raw=False, strict_map_key=True)
    except Exception as exc:  # msgpack raises several unrelated types for garbage
        raise WireError(f"undecodable frame: {exc.__class__.__name__}") from None
    if not isinstance(body, dict):
        raise WireError("frame is not a map")
    if body.pop("v", None) != PROTOCOL_VERSION:
        raise WireError("unsupported protocol version")
    cls = _KINDS.get(body.pop("kind", None))  # type: ignore[arg-type]
    if cls is None:
        raise WireError("unknown message kind")
    return _build(cls, body)


def _build(cls: type, body: object):
    if not isinstance(body, dict):
        raise WireError(f"{cls.__name__}: expected a map")
    hints = _type_hints(cls)
    kwargs = {}
    for f in fields(cls):
        if f.name not in body:
            if f.default is not MISSING or f.default_factory is not MISSING:
                continue
            raise WireError(f"{cls.__name__}: missing field {f.name}")
        kwargs[f.name] = _check(hints[f.name], body[f.name], f"{cls.__name__}.{f.name}")
    return cls(**kwargs)


@functools.cache
def _type_hints(cls: type) -> dict:
    return typing.get_type_hints(cls)


def _check(hint, value, where: str):
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for alt in typing.get_args(hint):
            try:
                return _check(alt, value, where)
            except WireError:
                continue
        raise WireError(f"{where}: bad type {type(value).__name__}")
    if hint is type(None):
        if value is None:
            return None
        raise WireError(f"{where}: expected nil")
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise WireError(f"{where}: expected a list")
        return [_check(item, v, where) for v in value]
    if origin is dict:
        kt, vt = typing.get_args(hint)
        if not isinstance(value, dict):
            raise WireError(f"{where}: expected a map")
        return {_check(kt, k, where): _check(vt, v, where) for k, v in value.items()}
    if hint in (RunRef, GpuSpec, TaskExit):
        return _build(hint, value)
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise WireError(f"{where}: expected a number")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise WireError(f"{where}: expected an integer")
    if hint in (str, bool):
        if type(value) is hint:
            return value
        raise WireError(f"{where}: expected {hint.__name__}")
    raise WireError(f"{where}: unsupported type")
