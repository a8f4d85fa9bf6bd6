"""One scheduling pass over a frozen snapshot: Slurm's main scheduler, then backfill.

Jobs are considered by partition PriorityTier, then priority, submit time and job id. A job that
is eligible but does not fit gets reason Resources and blocks its partition(s): every job of a
blocked partition considered later waits with reason Priority, so lower-priority work never
overtakes it in this pass. When the policy enables backfill, `solver.backfill` then reconsiders
the jobs left waiting: reservations for the first ones, early starts that delay none of them.
"""
from __future__ import annotations

from dataclasses import dataclass

from solver.backfill import Waiting, applied_time_limit, backfill
from solver.placement import PartitionNodes, diagnose, never_fits, place
from solver.plan import PendingDecision, Plan, Reason, Start
from solver.priority import PriorityContext, job_priority, partition_try_order, scheduling_order
from solver.shape import ConstraintError, NodeShape, request_key, shape_of
from solver.snapshot import ClusterSnapshot, JobRequest, NodeState, PartitionState, PartitionView
from solver.usage import ClusterState

_RUNNABLE_PARTITION = (PartitionState.UP, PartitionState.DRAIN)  # DRAIN still starts its queue
_DEPENDENCY_REASONS = {r.value: r for r in (Reason.DEPENDENCY, Reason.DEPENDENCY_NEVER_SATISFIED)}


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A job that may start: its shape and the partitions to try, in order."""

    shape: NodeShape
    partitions: tuple[PartitionView, ...]


def solve(snapshot: ClusterSnapshot, *, seed: int = 0) -> Plan:
    """Decide what starts now and why everything else waits.

    `seed` is part of the interface so that a dumped (snapshot, seed) replays exactly; this pass
    has no random choices yet, so the plan depends on the snapshot alone.
    """
    del seed
    ctx = PriorityContext.of(snapshot)
    priorities = {job.job_id: job_priority(job, ctx) for job in snapshot.pending}
    state = ClusterState.from_snapshot(snapshot)
    nodes_of = {p.name: PartitionNodes.build(p, state) for p in snapshot.partitions}
    node_state = {n.name: n.state for n in snapshot.nodes}
    # Verdicts that depend only on the request, not on what this pass has handed out: queues
    # repeat a few request kinds, so each is worked out once. A request key is hashed once per
    # job; from there on its kind is a small int (an index into `verdicts`).
    kinds: dict[tuple, int] = {}
    verdicts: list[_Candidate | tuple[Reason, str]] = []
    blocked: dict[str, int] = {}   # partition -> the job that could not start there
    starts: list[Start] = []
    pending: list[PendingDecision] = []
    waiting: list[Waiting] = []    # could run, did not start: what backfill reconsiders

    now = snapshot.now
    # Per kind, once all its partitions are blocked, the Priority detail: blocking only grows
    # within a pass, so once closed a kind stays closed (the common case of a long queue).
    closed: dict[int, str] = {}
    for job in scheduling_order(snapshot.pending, priorities, ctx):
        priority = priorities[job.job_id]
        if job.held or job.begin_time > now or job.dependency_reason:
            reason, detail = _ineligible(job, now)
            pending.append(PendingDecision(job.job_id, reason, priority, detail=detail))
            continue
        key = request_key(job)
        kind = kinds.get(key)
        if kind is None:
            kind = kinds[key] = len(verdicts)
            verdicts.append(_static_verdict(job, ctx, nodes_of, state, node_state))
        verdict = verdicts[kind]
        if isinstance(verdict, tuple):
            pending.append(PendingDecision(job.job_id, verdict[0], priority, detail=verdict[1]))
            continue
        detail = closed.get(kind)
        if detail is not None:
            reason = Reason.PRIORITY
        else:
            open_partitions = [p for p in verdict.partitions if p.name not in blocked]
            if not open_partitions:
                reason = Reason.PRIORITY
                first = verdict.partitions[0].name
                detail = closed[kind] = f"waits behind job {blocked[first]} in partition {first}"
            else:
                start, detail = _try_start(job, verdict.shape, open_partitions, nodes_of, state)
                if start is not None:
                    starts.append(start)
                    continue
                reason = Reason.RESOURCES
                blocked.update((p.name, job.job_id) for p in open_partitions)
        decided = PendingDecision(job.job_id, reason, priority, detail=detail)
        waiting.append(Waiting(job, verdict.shape, verdict.partitions, decided, kind))
        pending.append(decided)

    backfilled = 0
    if snapshot.policy.backfill and waiting:
        started, decided = backfill(snapshot, state, nodes_of, starts, waiting)
        early = {s.job_id for s in started}
        starts.extend(started)
        backfilled = len(started)
        pending = [decided.get(d.job_id, d) for d in pending if d.job_id not in early]

    return Plan(
        starts=tuple(starts),
        pending=tuple(pending),
        priorities=tuple(priorities.items()),   # built in snapshot.pending order
        backfill_depth=len(waiting) if snapshot.policy.backfill else 0,
        backfilled=backfilled,
    )


def _static_verdict(
    job: JobRequest, ctx: PriorityContext, nodes_of: dict[str, PartitionNodes],
    state: ClusterState, node_state: dict[str, NodeState],
) -> _Candidate | tuple[Reason, str]:
    """Partition and constraint checks: a reason to wait, or where the job may try to start."""
    reason, detail, partitions = _partition_check(job, ctx)
    if reason is not None:
        return reason, detail
    try:
        shape = shape_of(job, ctx.policy)
    except ConstraintError as error:
        return Reason.BAD_CONSTRAINTS, str(error)
    # More nodes or CPUs than a partition has in all: Slurm (EnforcePartLimits=NO) takes the
    # job and leaves it pending with PartitionConfig, never blocking the partition.
    cpus = shape.cpus * shape.node_count
    sized = [p for p in partitions
             if shape.node_count <= ctx.partition_size.get(p.name, (0, 0))[0]
             and (shape.exclusive or cpus <= ctx.partition_size.get(p.name, (0, 0))[1])]
    if not sized:
        nodes, total = ctx.partition_size.get(partitions[0].name, (0, 0))
        return (Reason.PARTITION_CONFIG,
                f"asks {shape.node_count} node(s) and {cpus} CPU(s); partition {partitions[0].name} "
                f"has {nodes} node(s) and {total} CPU(s)")
    partitions = sized
    never = [(p, never_fits(shape, nodes_of[p.name], state)) for p in partitions]
    possible = tuple(p for p, why in never if why is None)
    if not possible:
        # The controller rejects such jobs at submit; one that slips through (the config
        # changed) must not block its partition forever, so this is not a blocking Resources.
        return Reason.RESOURCES, never[0][1] or ""
    down = [n for n in shape.required if node_state.get(n, NodeState.UP) is not NodeState.UP]
    if down:
        return Reason.NODES_DOWN, f"required node(s) {','.join(down)} not available"
    return _Candidate(shape, possible)


def _ineligible(job: JobRequest, now: float) -> tuple[Reason | None, str]:
    """Reasons that keep a job out of scheduling whatever the cluster looks like."""
    if job.held:
        return (Reason.JOB_HELD_ADMIN if job.hold_reason == Reason.JOB_HELD_ADMIN.value
                else Reason.JOB_HELD_USER), ""
    if job.begin_time > now:
        return Reason.BEGIN_TIME, ""
    if job.dependency_reason:
        return _DEPENDENCY_REASONS.get(job.dependency_reason, Reason.DEPENDENCY), ""
    return None, ""


def _partition_check(
    job: JobRequest, ctx: PriorityContext,
) -> tuple[Reason | None, str, list[PartitionView]]:
    """The job's partitions that can start it, or the reason none can."""
    known = list(partition_try_order(job, ctx))
    runnable = [p for p in known if p.state in _RUNNABLE_PARTITION]
    if not runnable:
        inactive = known and all(p.state is PartitionState.INACTIVE for p in known)
        missing = [name for name in job.partitions if name not in ctx.partitions]
        detail = f"unknown partition(s) {','.join(missing)}" if missing else ""
        return (Reason.PARTITION_INACTIVE if inactive else Reason.PARTITION_DOWN), detail, []
    in_time = [p for p in runnable if job.time_limit is None or p.max_time is None
               or job.time_limit <= p.max_time]
    if not in_time:
        return Reason.PARTITION_TIME_LIMIT, "", []
    in_size = [p for p in in_time if p.max_nodes is None or job.min_nodes <= p.max_nodes]
    if not in_size:
        return Reason.PARTITION_NODE_LIMIT, "", []
    return None, "", in_size


def _try_start(
    job: JobRequest, shape: NodeShape, partitions: list[PartitionView],
    nodes_of: dict[str, PartitionNodes], state: ClusterState,
) -> tuple[Start | None, str]:
    """Start in the first partition where the job fits; else the first partition's diagnosis."""
    for partition in partitions:
        allocations = place(shape, nodes_of[partition.name], state)
        if allocations is not None:
            return (Start(job.job_id, partition.name, allocations,
                          applied_time_limit(job, partition)), "")
    first = partitions[0]
    detail = diagnose(shape, nodes_of[first.name], state)
    return None, detail if len(partitions) == 1 else f"{first.name}: {detail}"
