"""Backfill: after the main pass, reserve for the first blocked jobs and start later jobs early
only where that delays no reservation.

Jobs are taken in the main pass's order. Each first tries to start now on what the timeline
leaves free for its whole time limit; one that cannot, while fewer than `reservation_depth`
reservations exist (EASY = 1, conservative = many), gets a reservation at the earliest time it
fits, held in the timeline so no later job may take it. A job whose limit is unlimited holds its
resources forever, so it only starts where no reservation needs them.

Checking "fits now for the whole limit" needs only a few rows of the timeline: between
reservation starts the free amounts only grow (work ends), so the minimum over [now, end) is at
now or at a reservation start before `end`. Those rows are the `guards`.

SchedulerParameters, where the policy sets them: bf_max_job_test (only the first N waiting
jobs are reconsidered), bf_window (no reservation or forecast beyond now + window: such a job
is not protected, as in Slurm) and bf_resolution (the timeline's rows are rounded up to it).
A job whose shape leaves choices (a -N range, a [a|b] constraint) is reserved with the variant
that starts earliest.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import replace
from typing import NamedTuple

import numpy as np

from solver.placement import PartitionNodes, place
from solver.plan import PendingDecision, Reason, Start
from solver.shape import NodeShape
from solver.snapshot import ClusterSnapshot, JobRequest, NodeAllocation, PartitionView
from solver.timeline import Timeline
from solver.usage import ClusterState

# Forecasts for jobs without a reservation cost one timeline search per distinct request; past
# this many distinct requests the rest go without (None: unknown), keeping a pass bounded.
MAX_FORECASTS = 64
# A reservation search costs (timeline rows) x (partition nodes) cells. Past this many cells in
# one pass (conservative backfill over a huge queue), later jobs get no reservation, as Slurm's
# bf_max_job_test cuts its pass: they may then be overtaken, every reservation made is still
# honoured. EASY (one reservation) never comes near it.
RESERVATION_BUDGET_CELLS = 40_000_000


class Waiting(NamedTuple):
    """A job the main pass left pending although it could run: what backfill reconsiders.
    (A NamedTuple, not a dataclass: one is built per blocked job, tens of thousands a pass.)"""

    job: JobRequest
    shape: NodeShape
    partitions: tuple[PartitionView, ...]
    decision: PendingDecision
    kind: int      # the main pass's index of the job's request key: equal kinds, equal requests


def applied_time_limit(job: JobRequest, partition: PartitionView) -> float | None:
    """The job's limit, else the partition's DefaultTime, else its MaxTime (None = unlimited)."""
    if job.time_limit is not None:
        return job.time_limit
    if partition.default_time is not None:
        return partition.default_time
    return partition.max_time


def backfill(
    snapshot: ClusterSnapshot, state: ClusterState, nodes_of: dict[str, PartitionNodes],
    main_starts: list[Start], waiting: list[Waiting],
) -> tuple[list[Start], dict[int, PendingDecision]]:
    """Starts made by backfill, and the decisions that replace those of `waiting`."""
    now, policy = snapshot.now, snapshot.policy
    horizon = math.inf if policy.bf_window is None else now + policy.bf_window
    if policy.bf_max_job_test is not None:
        waiting = waiting[: max(policy.bf_max_job_test, 0)]   # the rest keep the main pass's word
    holders = [(job.end_time, job.allocations) for job in snapshot.running]
    holders += [(None if s.time_limit is None else now + s.time_limit, s.allocations)
                for s in main_starts]
    distinct = {item.kind: item for item in waiting}.values()   # equal keys, equal limits
    limits = {applied_time_limit(item.job, p) for item in distinct for p in item.partitions}
    timeline = Timeline.build(state, now, holders, {t for t in limits if t is not None},
                              resolution=policy.bf_resolution or 0.0)
    guarded = _Guarded(timeline, state)
    cannot_start_now: set[int] = set()   # the timeline only shrinks: a failure stays one
    depth = snapshot.policy.reservation_depth
    starts: list[Start] = []
    decisions: dict[int, PendingDecision] = {}
    unreserved: list[Waiting] = []
    # The timeline only fills up, so a request's earliest start only moves later: each search
    # for a request begins where the last one for it ended.
    not_before: dict[int, float] = {}
    budget = RESERVATION_BUDGET_CELLS

    for item in waiting:
        key = item.kind
        if key not in cannot_start_now:
            start = guarded.start_now(item, nodes_of)
            if start is not None:
                starts.append(start)
                continue
            cannot_start_now.add(key)
        if len(guarded.guards) < depth and budget > 0:   # one guard row per reservation
            floor = not_before.get(key, -math.inf)
            budget -= int(np.count_nonzero(timeline.times >= floor)) * sum(
                len(nodes_of[p.name].members) for p in item.partitions)
            found = _earliest(item, timeline, nodes_of, state, floor, horizon)
            not_before[key] = math.inf if found is None else float(timeline.times[found[0]])
            if found is not None:
                row, chosen, partition, shape = found
                decisions[item.job.job_id] = replace(
                    item.decision, reason=Reason.RESOURCES, reserved=True,
                    expected_start=float(timeline.times[row]),
                    expected_nodes=tuple(state.names[n] for n in chosen),
                    expected_partition=partition.name)
                limit = applied_time_limit(item.job, partition)
                added = None if limit is None else timeline.split(timeline.times[row] + limit)
                guarded.reserve_at(row, added)
                _reserve(shape, timeline, row, chosen, limit)
                continue
        unreserved.append(item)

    # key -> (expected start, nodes, partition), or None when unknown
    forecasts: dict[int, tuple[float, tuple[str, ...], str] | None] = {}
    memo: dict = {}   # the timeline no longer changes: searches of one shape share their work
    for item in unreserved:
        key = item.kind
        forecast = forecasts.get(key, False)
        if forecast is False:
            found = (None if len(forecasts) >= MAX_FORECASTS
                     else _earliest(item, timeline, nodes_of, state, horizon=horizon,
                                    memo=memo))
            forecast = forecasts[key] = None if found is None else (
                float(timeline.times[found[0]]), tuple(state.names[n] for n in found[1]),
                found[2].name)
        if forecast is not None:
            old = item.decision
            decisions[old.job_id] = PendingDecision(
                old.job_id, old.reason, old.priority, expected_start=forecast[0],
                expected_nodes=forecast[1], detail=old.detail, expected_partition=forecast[2])
    return starts, decisions


class _Guarded:
    """What may start now without delaying a reservation: the least free over now and the
    reservation starts before a job's end, cached per set of rows (a few sets: one per
    reservation) and kept exact as jobs start; a new reservation clears it."""

    def __init__(self, timeline: Timeline, state: ClusterState) -> None:
        self.timeline, self.state = timeline, state
        self.guards: list[int] = []            # rows where a reservation begins, sorted
        self._least: dict[int, ClusterState] = {}
        # (partition, guards used, shape) that `place` found no room for. Free counts only
        # shrink while the guards stay the same, so a failure stands until the next reservation;
        # jobs of other limits or partition lists with the same shape then skip the search.
        self._failed: set[tuple[str, int, NodeShape]] = set()
        self._end_row: dict[float | None, int] = {}   # limit -> end_row(0, limit); rows move

    def reserve_at(self, row: int, added: int | None) -> None:
        """A reservation begins at `row`; `added` is the row the timeline just inserted (the
        guards at or after it move down one)."""
        if added is not None:
            self.guards = [g + 1 if g >= added else g for g in self.guards]
        bisect.insort(self.guards, row)
        self._least.clear()
        self._failed.clear()
        self._end_row.clear()

    def start_now(self, item: Waiting, nodes_of: dict[str, PartitionNodes]) -> Start | None:
        timeline, state = self.timeline, self.state
        for partition in item.partitions:
            limit = applied_time_limit(item.job, partition)
            end = self._end_row.get(limit)
            if end is None:
                end = self._end_row[limit] = timeline.end_row(0, limit)
            used = bisect.bisect_left(self.guards, end)
            tried = (partition.name, used, item.shape)
            if tried in self._failed:
                continue
            part = nodes_of[partition.name]
            if used == 0 and (not self.guards or self.guards[0] > 0):
                allocations = place(item.shape, part, state)   # free now == timeline row 0
            else:
                allocations = place(item.shape, part, self._stand_in(used))
                if allocations is not None:
                    _take_counts(state, allocations)
            if allocations is not None:
                for alloc in allocations:
                    timeline.hold_allocation(0, end, alloc)
                self._refresh(allocations, used)
                return Start(item.job.job_id, partition.name, allocations, limit)
            self._failed.add(tried)
        return None

    def _stand_in(self, used: int) -> ClusterState:
        """A state whose free counts are the least over now and the first `used` guards. It
        shares the lists of free GPU indices, so the GPUs `place` picks leave the real ones."""
        stand_in = self._least.get(used)
        if stand_in is None:
            cpu, mem, gpu, by_type = self.timeline.least([0] + self.guards[:used])
            stand_in = self._least[used] = replace(
                self.state, free_cpu=cpu, free_mem=mem, free_gpu=gpu, free_gpu_by_type=by_type)
        return stand_in

    def _refresh(self, allocations: tuple[NodeAllocation, ...], used: int) -> None:
        """Bring the cached least counts of the nodes just taken up to date ('place' already
        took them from the stand-in it worked on: every row of that one was held)."""
        others = [other for other in self._least if other != used]
        if not others:
            return
        nodes = np.array([self.state.index[a.node] for a in allocations])
        # Row k: the least over now and the first k guards (one pass for every stand-in).
        cpu, mem, gpu, by_type = self.timeline.running_least(
            [0] + self.guards[:max(others)], nodes)
        for other in others:
            stand_in = self._least[other]
            stand_in.free_cpu[nodes], stand_in.free_mem[nodes] = cpu[other], mem[other]
            stand_in.free_gpu[nodes] = gpu[other]
            for gpu_type, column in by_type.items():
                stand_in.free_gpu_by_type[gpu_type][nodes] = column[other]


def _take_counts(state: ClusterState, allocations: tuple[NodeAllocation, ...]) -> None:
    """Take an allocation made on a stand-in from the real free counts (GPU lists are shared)."""
    for alloc in allocations:
        node = state.index[alloc.node]
        state.free_cpu[node] -= alloc.cpus
        state.free_mem[node] -= alloc.memory_mb
        types = state.gpu_type_of[node]
        for gpu in alloc.gpus:
            state.free_gpu[node] -= 1
            if types.get(gpu):
                state.free_gpu_by_type[types[gpu]][node] -= 1
        if alloc.gpus:
            state.regroup(node)


def _earliest(
    item: Waiting, timeline: Timeline, nodes_of: dict[str, PartitionNodes], state: ClusterState,
    not_before: float = -math.inf, horizon: float = math.inf, memo: dict | None = None,
) -> tuple[int, list[int], PartitionView, NodeShape] | None:
    """The earliest row no later than `horizon` (then the first partition in try order, then
    the first variant of the shape) where the job fits, with the variant that does."""
    best = None
    for partition in item.partitions:
        part = nodes_of[partition.name]
        limit = applied_time_limit(item.job, partition)
        for shape in item.shape.variants(part.node_limit):
            found = timeline.earliest(shape, part.order_for(shape),
                                      part.eligible(shape, state, up_only=True), limit, not_before,
                                      memo)
            if found is not None and (best is None or found[0] < best[0]):
                best = (found[0], found[1], partition, shape)
    if best is not None and timeline.times[best[0]] > horizon:
        return None   # beyond bf_window: no reservation, no forecast
    return best


def _reserve(shape: NodeShape, timeline: Timeline, row: int, chosen: list[int],
             limit: float | None) -> None:
    st = timeline.state
    end = timeline.end_row(row, limit)
    for position, node in enumerate(chosen):
        cpus = int(st.total_cpu[node]) if shape.exclusive else shape.cpus
        memory = shape.memory_for(cpus, int(st.total_mem[node]))
        if shape.exclusive:
            timeline.hold(row, end, node, cpus, memory, 0, "")
            timeline.hold_all_gpus(row, end, node)
        else:
            timeline.hold(row, end, node, cpus, memory, shape.gpus_on(position), shape.gpu_type)
