"""Free resources of every node, as columns, updated as the pass hands them out.

Placement asks "which nodes have at least c CPUs, m MiB and g GPUs free?" once per job; keeping
each resource as a numpy column over all nodes turns that into a few vector comparisons instead
of a Python loop over a thousand nodes. GPU identities (which indices are free) stay in plain
lists because only the few chosen nodes ever need them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solver.snapshot import ClusterSnapshot, GpuDevice, NodeState


@dataclass(slots=True)
class ClusterState:
    """Mutable working copy of the cluster for one solve (never leaves the solver)."""

    names: list[str]
    index: dict[str, int]
    up: np.ndarray                      # bool: takes new work (UP, not DOWN/DRAIN)
    weight: np.ndarray
    features: list[frozenset[str]]
    total_cpu: np.ndarray
    total_mem: np.ndarray
    total_gpu: np.ndarray               # all GPUs, any type
    free_cpu: np.ndarray
    free_mem: np.ndarray
    free_gpu: np.ndarray
    total_gpu_by_type: dict[str, np.ndarray]
    free_gpu_by_type: dict[str, np.ndarray]
    gpu_type_of: list[dict[int, str]]   # node -> GPU index -> type
    free_gpu_indices: list[list[int]]   # node -> sorted free GPU indices
    # node -> GPU index -> (NVLink island, NUMA id), None where gres.conf declares neither
    gpu_place_of: list[dict[int, tuple[int, int]] | None]
    # The most free GPUs of a node inside one group (its NVLink island where it declares links,
    # else its NUMA node); equal to free_gpu where no topology is declared.
    free_gpu_together: np.ndarray
    gpu_topology: bool = False          # some node declares where its GPUs sit

    @classmethod
    def from_snapshot(cls, snapshot: ClusterSnapshot) -> ClusterState:
        nodes = snapshot.nodes
        count = len(nodes)
        types = sorted({gpu.type for node in nodes for gpu in node.gpus if gpu.type})
        total_by_type = {t: np.zeros(count, dtype=np.int64) for t in types}
        gpu_type_of: list[dict[int, str]] = []
        for i, node in enumerate(nodes):
            gpu_type_of.append({gpu.index: gpu.type for gpu in node.gpus})
            for gpu in node.gpus:
                if gpu.type:
                    total_by_type[gpu.type][i] += 1
        total_cpu = np.fromiter((n.cpus for n in nodes), dtype=np.int64, count=count)
        total_mem = np.fromiter((n.memory_mb for n in nodes), dtype=np.int64, count=count)
        total_gpu = np.fromiter((len(m) for m in gpu_type_of), dtype=np.int64, count=count)
        state = cls(
            names=[n.name for n in nodes],
            index={n.name: i for i, n in enumerate(nodes)},
            up=np.fromiter((n.state is NodeState.UP for n in nodes), dtype=bool, count=count),
            weight=np.fromiter((n.weight for n in nodes), dtype=np.int64, count=count),
            features=[n.features for n in nodes],
            total_cpu=total_cpu, total_mem=total_mem, total_gpu=total_gpu,
            free_cpu=total_cpu.copy(), free_mem=total_mem.copy(), free_gpu=total_gpu.copy(),
            total_gpu_by_type=total_by_type,
            free_gpu_by_type={t: a.copy() for t, a in total_by_type.items()},
            gpu_type_of=gpu_type_of,
            free_gpu_indices=[sorted(m) for m in gpu_type_of],
            gpu_place_of=[_gpu_places(node.gpus) for node in nodes],
            free_gpu_together=total_gpu.copy(),
        )
        for node, places in enumerate(state.gpu_place_of):
            if places is not None:
                state.gpu_topology = True
                state.regroup(node)
        # Running work, summed per node in one vector step (thousands of jobs per snapshot).
        held_nodes, held_cpus, held_mem = [], [], []
        for job in snapshot.running:
            for alloc in job.allocations:
                node = state.index.get(alloc.node)
                if node is None:
                    continue  # a node gone from the config holds nothing we schedule
                held_nodes.append(node)
                held_cpus.append(alloc.cpus)
                held_mem.append(alloc.memory_mb)
                if alloc.gpus:
                    state.take_gpus(node, alloc.gpus)
        if held_nodes:
            np.subtract.at(state.free_cpu, held_nodes, held_cpus)
            np.subtract.at(state.free_mem, held_nodes, held_mem)
        return state

    def free_gpu_column(self, gpu_type: str) -> np.ndarray:
        if not gpu_type:
            return self.free_gpu
        column = self.free_gpu_by_type.get(gpu_type)
        return column if column is not None else np.zeros(len(self.names), dtype=np.int64)

    def total_gpu_column(self, gpu_type: str) -> np.ndarray:
        if not gpu_type:
            return self.total_gpu
        column = self.total_gpu_by_type.get(gpu_type)
        return column if column is not None else np.zeros(len(self.names), dtype=np.int64)

    def pick_gpus(self, node: int, count: int, gpu_type: str) -> tuple[int, ...]:
        """`count` free GPUs of `gpu_type` ('' = any) on `node`: the lowest indices, or, where
        gres.conf places the GPUs, GPUs that sit together (see `_together`)."""
        free = self.free_gpu_indices[node]
        if gpu_type:
            types = self.gpu_type_of[node]
            free = [i for i in free if types[i] == gpu_type]
        places = self.gpu_place_of[node]
        if places is None or count >= len(free):
            return tuple(free[:count])
        return _together(free, count, places)

    def take(self, node: int, cpus: int, memory_mb: int, gpus: tuple[int, ...]) -> None:
        self.free_cpu[node] -= cpus
        self.free_mem[node] -= memory_mb
        if gpus:
            self.take_gpus(node, gpus)

    def take_gpus(self, node: int, gpus: tuple[int, ...]) -> None:
        types = self.gpu_type_of[node]
        free = self.free_gpu_indices[node]
        for gpu in gpus:
            gpu_type = types.get(gpu)
            if gpu_type is None or gpu not in free:
                continue  # unknown or already counted: never free a GPU twice
            free.remove(gpu)
            self.free_gpu[node] -= 1
            if gpu_type:
                self.free_gpu_by_type[gpu_type][node] -= 1
        self.regroup(node)

    def regroup(self, node: int) -> None:
        """Bring `free_gpu_together` of `node` up to date (read only where some node declares
        a GPU topology, so kept only there)."""
        if not self.gpu_topology:
            return
        places = self.gpu_place_of[node]
        if places is None:
            self.free_gpu_together[node] = self.free_gpu[node]
            return
        linked = any(island != gpu for gpu, (island, _) in places.items())
        counts: dict[int, int] = {}
        for gpu in self.free_gpu_indices[node]:
            group = places[gpu][0] if linked else places[gpu][1]
            counts[group] = counts.get(group, 0) + 1
        self.free_gpu_together[node] = max(counts.values(), default=0)


# How GPUs are grouped, most together first: same NVLink island and NUMA node, same island,
# same NUMA node.
_GROUPINGS = (lambda at: at, lambda at: at[0], lambda at: at[1])


def _together(free: list[int], count: int, places: dict[int, tuple[int, int]]) -> tuple[int, ...]:
    """`count` of the `free` GPUs (sorted), as close together as the node allows: inside the
    tightest group that holds them all, the fullest such group first (best fit keeps roomy
    groups whole for bigger jobs), lowest indices on ties; else from the fewest groups."""
    for grouping in _GROUPINGS:
        groups: dict[object, list[int]] = {}
        for gpu in free:
            groups.setdefault(grouping(places[gpu]), []).append(gpu)
        fitting = [g for g in groups.values() if len(g) >= count]
        if fitting:
            return tuple(min(fitting, key=lambda g: (len(g), g[0]))[:count])
    chosen: list[int] = []
    for group in sorted(groups.values(), key=lambda g: (-len(g), g[0])):
        chosen.extend(group[: count - len(chosen)])
        if len(chosen) == count:
            break
    return tuple(sorted(chosen))


def _gpu_places(gpus: tuple[GpuDevice, ...]) -> dict[int, tuple[int, int]] | None:
    """GPU index -> (NVLink island, NUMA id) from the node's declared topology; None when it
    declares none. An island is a set of GPUs joined by NVLinks (Links= counts above 0)."""
    if not any(g.numa >= 0 or g.links for g in gpus):
        return None
    indices = [g.index for g in gpus]
    island = {i: i for i in indices}

    def root(i: int) -> int:
        while island[i] != i:
            island[i] = island[island[i]]
            i = island[i]
        return i

    for gpu in gpus:
        for other, count in enumerate(gpu.links):
            if count > 0 and other != gpu.index and other in island:
                a, b = root(gpu.index), root(other)
                island[max(a, b)] = min(a, b)
    return {g.index: (root(g.index), g.numa) for g in gpus}
