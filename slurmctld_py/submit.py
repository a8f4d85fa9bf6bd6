"""Validate a submitted JobSpec against the configuration and turn it into a job row.

Mirrors what slurmctld checks at submit time: the partition exists (or a default one does), and
the request can fit the nodes of at least one of its partitions when they are empty. A job that
only exceeds a partition *limit* (nodes, time) is accepted and waits with a reason, as Slurm does
with EnforcePartLimits=NO.
"""
from __future__ import annotations

import functools
import math
import types
import typing
from dataclasses import dataclass

from conf.units import UnitError, format_memory_mb, parse_gres
from sdk.records import JobSpec
from slurmctld_py.errors import RequestError


@dataclass(frozen=True, slots=True)
class Caller:
    uid: int
    gid: int
    user_name: str
    group_name: str


@dataclass(frozen=True, slots=True)
class ResourceRequest:
    """The per-node shape of a job, derived once from its spec."""

    min_nodes: int
    max_nodes: int
    ntasks: int
    cpus_per_task: int
    ntasks_per_node: int
    mem_per_node_mb: int | None
    mem_per_cpu_mb: int | None
    gpus_per_node: int
    gpu_type: str
    gpus_total: int
    gpus_per_task: int = 0

    @property
    def cpus_per_node(self) -> int:
        if self.ntasks_per_node:
            return self.ntasks_per_node * self.cpus_per_task
        return math.ceil(self.ntasks / self.min_nodes) * self.cpus_per_task

    @property
    def total_cpus(self) -> int:
        return max(self.ntasks * self.cpus_per_task, self.cpus_per_node * self.min_nodes)


def _gpu_request(spec: JobSpec) -> tuple[int, str, int]:
    """(gpus per node, gpu type, gpus per job) from --gres / --gpus-per-node / --gpus."""
    per_node, gtype, total = 0, "", 0
    try:
        for g in parse_gres(spec.gres) if spec.gres else ():
            if g.name != "gpu":
                raise RequestError("INVALID_GRES")
            per_node, gtype = g.count, g.type
        if spec.gpus_per_node:
            if spec.gres:
                raise RequestError("INVALID_GRES", "--gpus-per-node and --gres=gpu are mutually exclusive")
            g = parse_gres("gpu:" + spec.gpus_per_node)[0]
            per_node, gtype = g.count, g.type
        if spec.gpus:
            g = parse_gres("gpu:" + spec.gpus)[0]
            total, gtype = g.count, g.type or gtype
    except UnitError:
        raise RequestError("INVALID_GRES") from None
    return per_node, gtype, total


def _gpu_spread_limit(spec: JobSpec, total: int, per_node: int) -> int:
    """Most nodes a --gpus total may be spread over (0: it may not). Observed on Slurm 22.05:
    `--gpus=6` on 4-GPU nodes runs on two nodes (2 + 4 GPUs), while `-N 1 --gpus=6` and
    `-n 1 --gpus=5` are refused (one node, or one task, cannot hold them)."""
    if not total or per_node or spec.gpus_per_task:
        return 0
    if spec.nodes_set:
        return spec.max_nodes if spec.max_nodes > spec.min_nodes else 0
    limit = min(total, spec.ntasks) if spec.ntasks_set else total
    return limit if limit > spec.min_nodes else 0


def resource_request(spec: JobSpec) -> ResourceRequest:
    if spec.min_nodes < 1 or (spec.max_nodes and spec.max_nodes < spec.min_nodes):
        raise RequestError("INVALID_NODE_COUNT")
    if spec.ntasks < 1 or spec.cpus_per_task < 1 or spec.ntasks_per_node < 0:
        raise RequestError("BAD_REQUEST", message="Invalid task or CPU count")
    min_nodes = spec.min_nodes
    ntasks = spec.ntasks
    if not spec.ntasks_set:
        ntasks = max(ntasks, min_nodes * (spec.ntasks_per_node or 1))
    per_node, gtype, total = _gpu_request(spec)
    spread_to = _gpu_spread_limit(spec, total, per_node)
    if total and not per_node and min_nodes == 1 and not spread_to:
        per_node = total
    per_task = 0
    if spec.gpus_per_task:
        try:
            g = parse_gres("gpu:" + spec.gpus_per_task)[0]
        except UnitError:
            raise RequestError("INVALID_GRES") from None
        per_task, gtype = g.count, g.type or gtype
    cpus_per_task = spec.cpus_per_task
    job_gpus = total or per_node * min_nodes or per_task * ntasks
    # scontrol update NumCPUs= and --cpus-per-gpu raise the CPU count: more CPUs per task
    min_cpus = max(spec.min_cpus, spec.cpus_per_gpu * job_gpus)
    if min_cpus > ntasks * cpus_per_task:
        cpus_per_task = math.ceil(min_cpus / ntasks)
    mem_per_node = spec.mem_per_node_mb
    if mem_per_node is None and spec.mem_per_cpu_mb is None and spec.mem_per_gpu_mb is not None:
        mem_per_node = spec.mem_per_gpu_mb * max(1, job_gpus // min_nodes)   # --mem-per-gpu
    return ResourceRequest(
        min_nodes=min_nodes, max_nodes=spec.max_nodes or spread_to or min_nodes, ntasks=ntasks,
        cpus_per_task=cpus_per_task, ntasks_per_node=spec.ntasks_per_node,
        mem_per_node_mb=mem_per_node, mem_per_cpu_mb=spec.mem_per_cpu_mb,
        gpus_per_node=per_node, gpu_type=gtype, gpus_total=total, gpus_per_task=per_task)


def _type_ok(hint, value) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(alt, value) for alt in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin is list:
        (item,) = typing.get_args(hint)
        return isinstance(value, list) and all(_type_ok(item, v) for v in value)
    if origin is dict:
        kt, vt = typing.get_args(hint)
        return isinstance(value, dict) and all(_type_ok(kt, k) and _type_ok(vt, v) for k, v in value.items())
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return type(value) is hint


@functools.cache
def _spec_hints() -> dict:
    return typing.get_type_hints(JobSpec)


def parse_spec(raw: object) -> JobSpec:
    """A JobSpec from its wire map, every field type-checked (unknown keys are ignored, as from
    a newer client)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("script"), str):
        raise RequestError("BAD_REQUEST", message="malformed job specification")
    hints = _spec_hints()
    for key, value in raw.items():
        hint = hints.get(key)
        if hint is not None and not _type_ok(hint, value):
            raise RequestError("BAD_REQUEST", message=f"malformed job specification: field {key}")
    return JobSpec.from_wire(raw)


def choose_partitions(spec: JobSpec, config) -> list:
    names = [p for p in spec.partition.split(",") if p] if spec.partition else []
    if not names:
        default = config.default_partition
        if default is None:
            raise RequestError("DEFAULT_PARTITION_NOT_SET")
        return [default]
    found = []
    for name in names:
        try:
            found.append(config.partition(name))
        except KeyError:
            raise RequestError("INVALID_PARTITION_NAME", f"invalid partition specified: {name}") from None
    return found


def check_fits(spec: JobSpec, req: ResourceRequest, partitions: list, config, default_mem_per_cpu) -> None:
    """Refuse a request that no node of any of its partitions could ever hold."""
    if spec.nodelist:
        from conf.hostlist import HostlistError, expand_hostlist
        try:
            wanted = expand_hostlist(spec.nodelist)
        except HostlistError:
            raise RequestError("INVALID_NODE_NAME") from None
        known = {n.name for n in config.nodes}
        if any(n not in known for n in wanted):
            raise RequestError("INVALID_NODE_NAME")
    else:
        wanted = []
    detail = ""
    for part in partitions:
        nodes = [config.node(n) for n in part.nodes]
        if wanted and not set(wanted) <= set(part.nodes):
            continue
        too_big = req.min_nodes > len(nodes) or (
            not spec.exclusive and req.total_cpus > sum(n.cpus for n in nodes))
        if too_big and config.enforce_part_limits == "NO":
            # more than the partition has in all: accepted, pending with PartitionConfig
            # (Slurm 22.05 here, EnforcePartLimits=NO: `sbatch -n 64`, `-c 64`, `-N 3` on 2 x 8 CPUs)
            return
        cpu_ok = [n for n in nodes if n.cpus >= req.cpus_per_node]
        if not cpu_ok:
            detail = "CPU count per node can not be satisfied"
            continue
        mem_ok = [n for n in cpu_ok if n.real_memory >= _memory_needed(req, n.real_memory, default_mem_per_cpu)]
        if not mem_ok:
            detail = "Memory specification can not be satisfied"
            continue
        gpu_ok = [n for n in mem_ok if _gpus_on(n, req.gpu_type) >= req.gpus_per_node]
        if not gpu_ok:
            detail = ""
            continue
        if req.gpus_total and not req.gpus_per_node:   # --gpus over several nodes: enough of them
            most = sorted((_gpus_on(n, req.gpu_type) for n in gpu_ok), reverse=True)[: req.max_nodes]
            if sum(most) < req.gpus_total:
                detail = ""
                continue
        return
    raise RequestError("REQUESTED_NODE_CONFIG_UNAVAILABLE", detail)


def _gpus_on(node, gpu_type: str) -> int:
    return sum(g.count for g in node.gres if g.name == "gpu" and (not gpu_type or g.type == gpu_type))


def _memory_needed(req: ResourceRequest, node_memory: int, default_mem_per_cpu) -> int:
    if req.mem_per_node_mb is not None:
        return req.mem_per_node_mb or node_memory
    if req.mem_per_cpu_mb is not None:
        return req.mem_per_cpu_mb * req.cpus_per_node
    if default_mem_per_cpu:
        return default_mem_per_cpu * req.cpus_per_node
    return 0   # whole node, which always fits


def gpus_tracked(config) -> bool:
    """GPUs appear in TRES strings only when AccountingStorageTRES lists gres/gpu (as in Slurm,
    which tracks cpu, mem, node and billing by default)."""
    listed = str(config.raw.get("AccountingStorageTRES") or "").lower()
    return "gres/gpu" in listed.split(",") or "gres/gpu" in listed


def tres_string(cpus: int, mem_mb: int, nodes: int, gpus: int, *, track_gpus: bool = True) -> str:
    text = f"cpu={cpus},mem={format_memory_mb(mem_mb)},node={nodes},billing={cpus}"
    if gpus and track_gpus:
        text += f",gres/gpu={gpus}"
    return text


def _spread_tasks(spec: JobSpec, partitions: list, config) -> JobSpec:
    """Without -N, Slurm gives a job as many nodes as its tasks need (-n 16 on 8-CPU nodes: 2)."""
    if spec.nodes_set or spec.ntasks_per_node:
        return spec
    biggest = max((config.node(n).cpus for p in partitions for n in p.nodes), default=0)
    if biggest <= 0 or spec.cpus_per_task > biggest:
        return spec
    tasks_per_node = biggest // spec.cpus_per_task
    needed = max(1, math.ceil(spec.ntasks / tasks_per_node))
    if needed == spec.min_nodes:
        return spec
    from dataclasses import replace
    return replace(spec, min_nodes=needed, max_nodes=0)


def check_features(constraint: str, partitions: list, config) -> None:
    """slurmctld refuses a --constraint naming a feature no node of the job's partitions has."""
    import re
    wanted = {re.sub(r"\*\d+$", "", word) for word in re.split(r"[&|,()\[\]]", constraint)} - {""}
    have = {f for part in partitions for n in part.nodes for f in config.node(n).features}
    if wanted - have:
        raise RequestError("INVALID_FEATURE")


def check_job_options(spec: JobSpec, now: float) -> None:
    """The recorded options slurmctld refuses at submit: a reservation that does not exist (this
    controller has none yet), a deadline before the begin time or already past."""
    if spec.reservation:
        raise RequestError("INVALID_RESERVATION", message="Requested reservation is invalid")
    if spec.deadline and spec.deadline < now:
        raise RequestError("INVALID_TIME_LIMIT")   # observed: a past --deadline is refused so
    if spec.signal and spec.signal < 0:
        raise RequestError("BAD_REQUEST", message="Invalid signal")


def job_row(spec: JobSpec, caller: Caller, config, now: float, *, job_id: int, key: str | None) -> dict:
    """The `jobs` row for a validated spec (raises RequestError when it must be refused)."""
    if not spec.script.startswith("#!"):
        raise RequestError("BAD_REQUEST", message="Batch script must start with #!")
    from slurmctld_py.arrays import array_columns
    array = array_columns(spec, config)     # observed: Slurm refuses a bad --array before all else
    if spec.dependency:
        from slurmctld_py.dependencies import parse
        parse(spec.dependency)
    check_job_options(spec, now)
    if spec.constraint:
        check_features(spec.constraint, choose_partitions(spec, config), config)
    if spec.priority is not None and caller.uid != 0:
        from dataclasses import replace
        spec = replace(spec, priority=None)   # --priority is an operator's: slurmctld drops a user's
    if spec.deadline and not spec.time_min and spec.time_limit_min is None:
        from dataclasses import replace
        spec = replace(spec, time_min=1)      # observed: a deadline without -t gets TimeMin=00:01:00
    partitions = choose_partitions(spec, config)
    for part in partitions:
        if part.state in ("DRAIN", "INACTIVE"):
            raise RequestError("REQUESTED_PART_CONFIG_UNAVAILABLE")
    spec = _spread_tasks(spec, partitions, config)
    req = resource_request(spec)
    check_fits(spec, req, partitions, config, config.def_mem_per_cpu)
    first = partitions[0]
    if spec.time_limit_min is None:
        limit_s = first.default_time if first.default_time is not None else first.max_time
        time_limit_min = None if limit_s is None else math.ceil(limit_s / 60)
    elif spec.time_limit_min < 0:
        raise RequestError("INVALID_TIME_LIMIT")
    else:
        time_limit_min = spec.time_limit_min or None   # 0 = no limit
    first_node = config.node(first.nodes[0]) if first.nodes else None
    node_mem = first_node.real_memory if first_node else 0
    mem = _memory_needed(req, node_mem, config.def_mem_per_cpu) or node_mem
    gpus = req.gpus_per_node * req.min_nodes or req.gpus_total
    requeue = config.job_requeue if spec.requeue is None else spec.requeue
    work_dir = spec.work_dir or spec.submit_dir or "/"
    held = bool(spec.hold)
    return {
        "job_id": job_id, "idempotency_key": key, "uid": caller.uid, "gid": caller.gid,
        "user_name": caller.user_name, "group_name": caller.group_name, "name": spec.name,
        "partition": ",".join(p.name for p in partitions), "req_partitions": spec.partition,
        "account": spec.account, "qos": spec.qos or "normal", "state": "PENDING",
        "reason": "JobHeldUser" if held else "None", "spec": spec.to_wire(), "script": spec.script,
        "submit_time": now, "eligible_time": None if held or spec.dependency else max(now, float(spec.begin_time or 0)),
        "time_limit_min": time_limit_min, "priority": 0, "nice": spec.nice, "held": held,
        "hold_reason": "JobHeldUser" if held else "", "num_nodes": req.min_nodes,
        "num_cpus": req.total_cpus, "num_tasks": req.ntasks,
        "req_tres": tres_string(req.total_cpus, mem * req.min_nodes, req.min_nodes, gpus,
                                track_gpus=gpus_tracked(config)),
        "work_dir": work_dir, "stdout": spec.stdout, "stderr": spec.stderr,
        "requeue": bool(requeue), "dependency": spec.dependency, "comment": spec.comment,
        "submit_line": spec.submit_line, **array,
    }
