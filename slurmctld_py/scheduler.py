"""The scheduling cycle's edges: freeze the controller's state into a snapshot, and read the plan.

The solve itself is pure (solver.solve); the controller applies the starts (Controller.apply_starts)
and records each pending job's reason and priority from the plan.
"""
from __future__ import annotations

import os

from solver import (
    ClusterSnapshot, GpuDevice, JobRequest, NodeAllocation, NodeState, NodeView, PartitionState,
    PartitionView, Plan, RunningJob, SchedulingPolicy,
)
from conf.errors import ConfigError
from conf.gresconf import gpu_places, load_gres_conf
from conf.hostlist import compress_hostlist
from slurmctld_py.arrays import candidates as array_candidates
from slurmctld_py.model import Job, JobState
from slurmctld_py.submit import resource_request
from sdk.records import JobSpec


def policy_from_config(config) -> SchedulingPolicy:
    depth = 1
    return SchedulingPolicy(
        backfill=config.scheduler_type == "sched/backfill", reservation_depth=depth,
        priority_weight_age=config.priority_weight_age, priority_weight_job_size=config.priority_weight_job_size,
        priority_weight_partition=config.priority_weight_partition,
        priority_weight_fairshare=config.priority_weight_fairshare, priority_weight_qos=config.priority_weight_qos,
        priority_weight_assoc=config.priority_weight_assoc,
        priority_weight_tres=tuple((k.lower(), float(v)) for k, v in (config.priority_weight_tres or {}).items()),
        priority_flags=frozenset(f.upper() for f in (config.priority_flags or ())),
        priority_max_age=float(config.priority_max_age), priority_favor_small=config.priority_favor_small,
        default_mem_per_cpu_mb=config.def_mem_per_cpu, **_backfill_parameters(config))


def _backfill_parameters(config) -> dict:
    """SchedulerParameters bf_window (minutes), bf_resolution (seconds) and bf_max_job_test,
    where set; unset ones keep the solver's defaults (no window, exact times, every job)."""
    params = getattr(config, "scheduler_parameters", None) or {}
    found = {}
    for key, field, scale in (("bf_window", "bf_window", 60.0), ("bf_resolution", "bf_resolution", 1.0),
                              ("bf_max_job_test", "bf_max_job_test", None)):
        try:
            value = int(params[key])
        except (KeyError, ValueError):
            continue
        if value > 0:
            found[field] = value if scale is None else value * scale
    return found


def _node_state(ctl, node) -> NodeState:
    if not node.responding or node.admin_state == "DOWN":
        return NodeState.DOWN
    if node.admin_state == "DRAIN":
        return NodeState.DRAIN
    return NodeState.UP


def _request(job: Job) -> JobRequest:
    spec = JobSpec.from_wire(job.spec)
    req = resource_request(spec)
    from conf.hostlist import expand_hostlist
    return JobRequest(
        job_id=job.job_id, user=job.user_name, submit_time=job.submit_time,
        partitions=tuple(job.partition.split(",")), min_nodes=req.min_nodes, max_nodes=req.max_nodes,
        ntasks=req.ntasks, cpus_per_task=req.cpus_per_task, ntasks_per_node=req.ntasks_per_node or None,
        mem_per_node_mb=req.mem_per_node_mb, mem_per_cpu_mb=req.mem_per_cpu_mb,
        gpus_per_node=req.gpus_per_node, gpu_type=req.gpu_type, gpus_total=req.gpus_total,
        time_limit=None if job.time_limit_min is None else job.time_limit_min * 60.0,
        exclusive=spec.exclusive,
        nodelist=tuple(expand_hostlist(spec.nodelist)) if spec.nodelist else (),
        exclude=tuple(expand_hostlist(spec.exclude)) if spec.exclude else (),
        constraint=spec.constraint, gpus_per_task=req.gpus_per_task, ntasks_given=spec.ntasks_set,
        held=job.held, hold_reason=job.hold_reason or "JobHeldUser", begin_time=float(spec.begin_time or 0),
        nice=job.nice, account=job.account, qos=job.qos, eligible_time=job.eligible_time,
        admin_priority=spec.priority,
        dependency_reason="" if job.dependency_state == "done" else job.dependency_state)


class RequestCache:
    """JobRequests are derived once per job (a pending job's request does not change)."""

    def __init__(self) -> None:
        self._cache: dict[int, tuple[int, JobRequest]] = {}

    def get(self, job: Job) -> JobRequest:
        token = hash((job.version, job.dependency_state, job.held, job.hold_reason, job.partition, job.time_limit_min, job.nice,
                      job.current_attempt, job.eligible_time))
        hit = self._cache.get(job.job_id)
        if hit is None or hit[0] != token:
            hit = (token, _request(job))
            self._cache[job.job_id] = hit
        return hit[1]

    def forget_missing(self, live: set[int]) -> None:
        for job_id in [j for j in self._cache if j not in live]:
            del self._cache[job_id]


def _gpu_devices(node, places: GresPlaces) -> tuple[GpuDevice, ...]:
    """The node's GPUs, with the NUMA and NVLink placement gres.conf gives them."""
    where = places.of(node.name)
    return tuple(GpuDevice(i, t, *(where[i] if i < len(where) else (-1, ())))
                 for i, t in enumerate(node.gpu_types))


class GresPlaces:
    """gres.conf beside slurm.conf, read again only when it changes: where each node's GPUs sit."""

    def __init__(self) -> None:
        self._seen: tuple[str, float] | None = None
        self._lines: tuple = ()
        self._by_node: dict[str, tuple] = {}

    def refresh(self, slurm_conf_path: str) -> GresPlaces:
        path = os.path.join(os.path.dirname(slurm_conf_path), "gres.conf")
        try:
            seen = (path, os.stat(path).st_mtime)
        except OSError:
            seen = (path, -1.0)
        if seen != self._seen:
            self._seen, self._by_node = seen, {}
            try:
                self._lines = load_gres_conf(path) if seen[1] >= 0 else ()
            except ConfigError:
                self._lines = ()   # the controller reports config errors where it reads them
        return self

    def of(self, node: str) -> tuple:
        found = self._by_node.get(node)
        if found is None:
            found = self._by_node[node] = gpu_places(self._lines, node)
        return found


_GRES_PLACES = GresPlaces()


def build_snapshot(ctl, cache: RequestCache, now: float) -> ClusterSnapshot:
    config = ctl.config
    places = _GRES_PLACES.refresh(config.path)
    ctl.evaluate_dependencies()
    nodes = tuple(
        NodeView(n.name, n.cpus, n.memory_mb, _gpu_devices(n, places),
                 _node_state(ctl, n), frozenset(n.features), n.weight)
        for n in ctl.nodes.values())
    partitions = tuple(
        PartitionView(p.name, tuple(p.nodes), PartitionState(ctl.partition_state.get(p.name, p.state)),
                      p.max_time, p.default_time, p.max_nodes, p.priority_tier, p.priority_job_factor,
                      p.is_default)
        for p in config.partitions)
    running, pending = [], []
    for job in ctl.jobs.values():
        if job.run is not None and job.run.active:
            running.append(RunningJob(
                job.job_id, job.partition,
                tuple(NodeAllocation(a.node, a.cpus, a.memory_mb, tuple(a.gpus)) for a in job.run.allocations),
                job.run.start_time, None if job.end_time is None else float(job.end_time),
                job.user_name, job.account))
        elif job.state == JobState.PENDING and not job.held:
            # held jobs wait for a release, not for resources: their reason is set by the hold
            if job.is_array_pending_record:
                pending.extend(array_candidates(ctl, job, cache.get(job)))   # throttle, many tasks
            else:
                pending.append(cache.get(job))
    cache.forget_missing({r.job_id for r in pending})
    return ClusterSnapshot(now, nodes, partitions, tuple(running), tuple(pending), policy_from_config(config),
                           ctl.usage.priority_inputs(ctl.associations))


def record_decisions(ctl, plan: Plan) -> None:
    for decision in plan.pending:
        job = ctl.jobs.get(decision.job_id)
        if job is None or job.state != JobState.PENDING:
            continue
        job.reason = decision.reason.value
        job.reason_detail = decision.detail
        job.priority = decision.priority
        job.expected_start = decision.expected_start
        job.expected_nodes = compress_hostlist(decision.expected_nodes) if decision.expected_nodes else ""
    priorities = dict(plan.priorities)
    for start in plan.starts:
        job = ctl.jobs.get(start.job_id)
        if job is not None and start.job_id in priorities:
            job.priority = priorities[start.job_id]
