"""First-fit placement of one job in one partition, now or on an empty cluster.

Node preference, deterministic: weight (lower first), then the partition's node order. A
CPU-only job tries nodes without GPUs first so GPUs stay reachable for GPU jobs; a GPU job takes
the fitting nodes with the fewest free GPUs of its type first (packing keeps whole GPU nodes free
for big jobs), and, where gres.conf says where GPUs sit, nodes that can give all its GPUs from
one NVLink island (or NUMA node) before those that cannot; on the node, `ClusterState.pick_gpus`
keeps them together. A --gpus total over a node range goes to the fewest nodes that hold it. The
same routine answers "does it fit now?" (free columns) and "could it ever fit?" (total columns,
every node whatever its state).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from solver.shape import MemoryRule, NodeShape, with_node_count
from solver.snapshot import NodeAllocation, PartitionView
from solver.usage import ClusterState


@dataclass(slots=True)
class PartitionNodes:
    """One partition's member nodes in preference orders, with cached eligibility masks."""

    name: str
    members: np.ndarray          # every existing member node, (weight, partition order)
    cpu_first: np.ndarray        # same nodes, GPU-less ones first (for CPU-only jobs)
    node_limit: int              # most nodes one job may take here (members, MaxNodes)
    _masks: dict[tuple, np.ndarray] = field(default_factory=dict)
    _ever: dict[NodeShape, str | None] = field(default_factory=dict)

    @classmethod
    def build(cls, partition: PartitionView, state: ClusterState) -> PartitionNodes:
        seen = dict.fromkeys(state.index[n] for n in partition.nodes if n in state.index)
        members = np.fromiter(seen, dtype=np.int64, count=len(seen))
        if len(members):
            position = np.arange(len(members))
            members = members[np.lexsort((position, state.weight[members]))]
            has_gpu = state.total_gpu[members] > 0
            cpu_first = members[np.argsort(has_gpu, kind="stable")]
        else:
            cpu_first = members
        limit = len(members) if partition.max_nodes is None else min(len(members),
                                                                      partition.max_nodes)
        return cls(name=partition.name, members=members, cpu_first=cpu_first, node_limit=limit)

    def order_for(self, shape: NodeShape) -> np.ndarray:
        return self.members if shape.gpus else self.cpu_first

    def eligible(self, shape: NodeShape, state: ClusterState, *, up_only: bool) -> np.ndarray:
        """Mask over `order_for(shape)`: features present, not excluded (and UP if `up_only`)."""
        key = (shape.gpus > 0, shape.features, shape.any_of, shape.excluded, up_only)
        mask = self._masks.get(key)
        if mask is None:
            order = self.order_for(shape)
            mask = state.up[order].copy() if up_only else np.ones(len(order), dtype=bool)
            if shape.features or shape.excluded or shape.any_of:
                for pos, node in enumerate(order):
                    has = state.features[node]
                    if (state.names[node] in shape.excluded or not shape.features <= has
                            or not all(choice & has for choice in shape.any_of)):
                        mask[pos] = False
            self._masks[key] = mask
        return mask


def _fits(shape: NodeShape, state: ClusterState, order: np.ndarray, *, empty: bool) -> np.ndarray:
    """Per node of `order`: can it hold the per-node demand (on free or, if `empty`, total)?

    Compares whole columns and selects `order` once at the end: one gather instead of one per
    column is the cheaper way in numpy, even when the partition is a fraction of the cluster."""
    total_cpu, total_mem = state.total_cpu, state.total_mem
    cpu = total_cpu if empty else state.free_cpu
    mem = total_mem if empty else state.free_mem
    if shape.exclusive:
        ok = cpu >= total_cpu
        if not empty:
            ok &= state.free_gpu >= state.total_gpu
        granted = total_cpu
    else:
        ok = cpu >= shape.cpus
        granted = shape.cpus
    if shape.memory_rule is MemoryRule.WHOLE_NODE:
        ok &= mem >= total_mem
    elif shape.memory_rule is MemoryRule.PER_NODE:
        ok &= mem >= shape.memory_mb
    else:
        ok &= mem >= shape.memory_mb * granted
    if shape.gpus:
        column = state.total_gpu_column if empty else state.free_gpu_column
        ok &= column(shape.gpu_type) >= shape.gpus
    return ok[order]


def place(
    shape: NodeShape, part: PartitionNodes, state: ClusterState,
) -> tuple[NodeAllocation, ...] | None:
    """Nodes for `shape` now, their resources taken from `state`; None if it does not fit
    (`diagnose` then says why: a multi-partition job that starts elsewhere never needs it).
    A shape with choices takes its first variant that fits (the most nodes of a -N range)."""
    if shape.is_fixed:
        return _place_fixed(shape, part, state)
    if shape.gpus_spread:
        return _place_spread(shape, part, state)
    for variant in shape.variants(part.node_limit):
        allocations = _place_fixed(variant, part, state)
        if allocations is not None:
            return allocations
    return None


def _place_fixed(
    shape: NodeShape, part: PartitionNodes, state: ClusterState,
) -> tuple[NodeAllocation, ...] | None:
    order = part.order_for(shape)
    ok = _fits(shape, state, order, empty=False) & part.eligible(shape, state, up_only=True)
    chosen: list[int] = []
    for name in shape.required:
        position = _position(order, state.index.get(name))
        if position is None or not ok[position]:
            return None
        chosen.append(int(order[position]))
        ok[position] = False
    need = shape.node_count - len(chosen)
    if shape.gpus > 1 and state.gpu_topology and not shape.exclusive:
        # GPUs that sit together: nodes that can give the job's GPUs from one NVLink island
        # (or NUMA node) come first, when there are enough of them.
        together = ok & (state.free_gpu_together[order] >= shape.gpus)
        if int(together.sum()) >= need:
            ok = together
    if need == 1 and shape.gpus:
        # The common case, without sorting: the first node with the fewest free GPUs.
        free = np.where(ok, state.free_gpu_column(shape.gpu_type)[order], np.iinfo(np.int64).max)
        best = int(free.argmin())
        if not ok[best]:
            return None
        chosen.append(int(order[best]))
    elif need > 0:
        positions = ok.nonzero()[0]
        if len(positions) < need:
            return None
        if shape.gpus:
            free = state.free_gpu_column(shape.gpu_type)[order[positions]]
            positions = positions[np.argsort(free, kind="stable")]
        chosen.extend(int(n) for n in order[positions[:need]])
    return _allocate(shape, chosen, state)


def _place_spread(
    shape: NodeShape, part: PartitionNodes, state: ClusterState,
) -> tuple[NodeAllocation, ...] | None:
    """--gpus=N over a node range: the fewest nodes that hold N GPUs between them (required
    nodes first, then the nodes with the most free GPUs, in preference order among equals), the
    last one the fullest node that still holds what is left; at least one GPU on each."""
    order = part.order_for(shape)
    ok = _fits(shape, state, order, empty=False) & part.eligible(shape, state, up_only=True)
    free = state.free_gpu_column(shape.gpu_type)[order]
    chosen: list[int] = []      # positions in `order`
    for name in shape.required:
        position = _position(order, state.index.get(name))
        if position is None or not ok[position]:
            return None
        chosen.append(position)
        ok[position] = False
    most = max(min(shape.max_node_count, part.node_limit), shape.node_count)
    left = shape.gpus_total - int(free[chosen].sum()) if chosen else shape.gpus_total
    ranked = ok.nonzero()[0]
    ranked = ranked[np.argsort(-free[ranked], kind="stable")].tolist()
    while (left > 0 or len(chosen) < shape.node_count) and ranked and len(chosen) < most:
        # Best fit for the last node: the one with the fewest free GPUs that covers the rest.
        last = left > 0 and len(chosen) + 1 >= shape.node_count
        fitting = [p for p in ranked if free[p] >= left] if last else []
        pick = min(fitting, key=lambda p: free[p]) if fitting else ranked[0]
        ranked.remove(pick)
        chosen.append(pick)
        left -= int(free[pick])
    if left > 0 or len(chosen) < shape.node_count:
        return None
    # Shares: as much as each node holds, in order, every node keeping at least one.
    shares, left = [], shape.gpus_total
    for i, position in enumerate(chosen):
        share = min(int(free[position]), left - (len(chosen) - i - 1))
        shares.append(share)
        left -= share
    if left > 0 or min(shares) < 1:
        return None
    sized = with_node_count(shape, len(chosen))
    allocations = []
    for position, share in zip(chosen, shares):
        node = int(order[position])
        cpus = int(state.total_cpu[node]) if shape.exclusive else sized.cpus
        memory = shape.memory_for(cpus, int(state.total_mem[node]))
        if shape.exclusive:
            gpus = tuple(state.free_gpu_indices[node])
        else:
            gpus = state.pick_gpus(node, share, shape.gpu_type)
        state.take(node, cpus, memory, gpus)
        allocations.append(NodeAllocation(state.names[node], cpus, memory, gpus))
    return tuple(allocations)


def _position(order: np.ndarray, node: int | None) -> int | None:
    if node is None:
        return None
    hits = (order == node).nonzero()[0]
    return int(hits[0]) if len(hits) else None


def _allocate(
    shape: NodeShape, chosen: list[int], state: ClusterState,
) -> tuple[NodeAllocation, ...]:
    allocations = []
    for position, node in enumerate(chosen):
        cpus = int(state.total_cpu[node]) if shape.exclusive else shape.cpus
        memory = shape.memory_for(cpus, int(state.total_mem[node]))
        if shape.exclusive:
            gpus = tuple(state.free_gpu_indices[node])
        else:
            gpus = state.pick_gpus(node, shape.gpus_on(position), shape.gpu_type)
        state.take(node, cpus, memory, gpus)
        allocations.append(NodeAllocation(state.names[node], cpus, memory, gpus))
    return tuple(allocations)


def never_fits(shape: NodeShape, part: PartitionNodes, state: ClusterState) -> str | None:
    """Why `shape` could not run in `part` even with every node idle and up; None if it could."""
    if shape in part._ever:
        return part._ever[shape]
    if shape.is_fixed:
        reason = _never_fits_fixed(shape, part, state)
    elif shape.gpus_spread:
        reason = _never_fits_spread(shape, part, state)
    else:
        # Every variant must be impossible; the last (fewest nodes) says why.
        reasons = [_never_fits_fixed(v, part, state) for v in shape.variants(part.node_limit)]
        reason = None if None in reasons else reasons[-1]
    part._ever[shape] = reason
    return reason


def _never_fits_spread(shape: NodeShape, part: PartitionNodes, state: ClusterState) -> str | None:
    order = part.order_for(shape)
    ok = _fits(shape, state, order, empty=True) & part.eligible(shape, state, up_only=False)
    total = state.total_gpu_column(shape.gpu_type)[order]
    members = set(order[ok].tolist())
    for name in shape.required:
        if state.index.get(name) not in members:
            return (f"required node {name} is not a node of partition {part.name} "
                    "that could ever hold this job")
    required = [i for i, node in enumerate(order) if state.names[node] in shape.required]
    others = sorted((int(total[i]) for i in ok.nonzero()[0] if i not in required), reverse=True)
    most = max(min(shape.max_node_count, part.node_limit), shape.node_count)
    room = int(total[required].sum()) + sum(others[: max(most - len(required), 0)])
    if len(members) < shape.node_count or room < shape.gpus_total:
        return (f"can never run in partition {part.name}: needs {shape.gpus_total} "
                f"{shape.gpu_type + ' ' if shape.gpu_type else ''}gpu on at most {most} node(s) "
                f"with {shape.describe()}; {len(members)} such node(s) hold {room}")
    return None


def _never_fits_fixed(shape: NodeShape, part: PartitionNodes, state: ClusterState) -> str | None:
    order = part.order_for(shape)
    ok = _fits(shape, state, order, empty=True) & part.eligible(shape, state, up_only=False)
    members = set(order[ok].tolist())
    reason = None
    for name in shape.required:
        if state.index.get(name) not in members:
            reason = (f"required node {name} is not a node of partition {part.name} "
                      "that could ever hold this job")
            break
    else:
        if len(members) < shape.node_count:
            reason = (f"can never run in partition {part.name}: needs {shape.node_count} node(s) "
                      f"with {shape.describe()}; {len(members)} such node(s) exist")
    return reason


def diagnose(shape: NodeShape, part: PartitionNodes, state: ClusterState) -> str:
    """Why `place` failed: which resource is short, with the best the partition offers now."""
    order = part.order_for(shape)
    eligible = part.eligible(shape, state, up_only=True)
    ok = _fits(shape, state, order, empty=False) & eligible
    for name in shape.required:
        position = _position(order, state.index.get(name))
        if position is None or not ok[position]:
            return f"required node {name} cannot take {shape.describe()} now"
    fitting = int(np.count_nonzero(ok))
    usable = order[eligible]
    if len(usable) == 0:
        return f"no node of partition {part.name} is up and matches the job's constraints"
    problems = []

    def most(column: np.ndarray) -> tuple[int, str]:
        best = int(np.argmax(column[usable]))
        return int(column[usable][best]), state.names[usable[best]]

    if shape.exclusive:
        idle = int(np.count_nonzero(state.free_cpu[usable] >= state.total_cpu[usable]))
        if idle < shape.node_count:
            problems.append(f"needs {shape.node_count} idle node(s); {idle} idle")
    else:
        free, name = most(state.free_cpu)
        if free < shape.cpus:
            problems.append(f"needs {shape.cpus} cpu per node; most free: {free} on {name}")
    if shape.memory_rule is MemoryRule.PER_NODE:
        free, name = most(state.free_mem)
        if free < shape.memory_mb:
            problems.append(f"needs {shape.memory_mb}M mem per node; most free: {free}M on {name}")
    elif shape.memory_rule is MemoryRule.WHOLE_NODE:
        whole = int(np.count_nonzero(state.free_mem[usable] >= state.total_mem[usable]))
        if whole < shape.node_count:
            problems.append(f"needs all memory of {shape.node_count} node(s) (no --mem); "
                            f"{whole} node(s) have it free")
    if shape.gpus:
        free, name = most(state.free_gpu_column(shape.gpu_type))
        if free < shape.gpus:
            kind = f"{shape.gpu_type} gpu" if shape.gpu_type else "gpu"
            problems.append(f"needs {shape.gpus} {kind} per node; most free: {free} on {name}")
    if not problems:
        problems.append(f"needs {shape.node_count} node(s) with {shape.describe()}; "
                        f"{fitting} fit now")
    return "; ".join(problems)
