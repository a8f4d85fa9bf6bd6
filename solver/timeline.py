"""Free resources of every node over time: the backfill pass's availability profile.

Row k of each column holds what is free on every node during [times[k], times[k+1]); row 0 is
now, the last row lasts forever. Rows begin where running work ends and where work started now
would end (now + each waiting job's limit); past `MAX_ROWS` of them only evenly spaced ones are
kept, each release moving to the next kept row. A reservation adds a row where it ends while there
are fewer than `2 * MAX_ROWS`. Otherwise a job holding [start, end) holds every row that begins
before `end`. Every rounding only makes the future look busier than it is, so a reservation
found here can never be late, and a search costs at most rows x nodes whatever the queue.

GPUs are counted per node, in an "any type" column and one column per type; a typed job takes
from both, so every column staying >= 0 is exactly "the typed and untyped demands fit together".
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from solver.shape import MemoryRule, NodeShape
from solver.snapshot import NodeAllocation
from solver.usage import ClusterState

MAX_ROWS = 128      # bounds a search to MAX_ROWS x nodes whatever the number of distinct ends


@dataclass(slots=True)
class Timeline:
    times: np.ndarray                    # (K,) float, times[0] == now, increasing
    cpu: np.ndarray                      # (K, N)
    mem: np.ndarray                      # (K, N)
    gpu: np.ndarray                      # (K, N) any type
    gpu_by_type: dict[str, np.ndarray]   # type -> (K, N)
    state: ClusterState                  # totals, names, GPU types (read only here)

    @classmethod
    def build(cls, state: ClusterState, now: float,
              holders: list[tuple[float | None, tuple[NodeAllocation, ...]]],
              limits: set[float] = frozenset()) -> Timeline:
        """From the free columns of `state` now and the (end, allocations) of everything that
        holds resources in it (an end of None never comes), with rows at now + each of
        `limits` too (where jobs started now would end)."""
        ends = {end for end, _ in holders if end is not None}
        ends.update(now + limit for limit in limits)
        ends = sorted({max(end, now + 1.0) for end in ends})
        if len(ends) > MAX_ROWS - 1:
            # Keep evenly spaced ends and the last one; a release moves to the next kept row.
            step = math.ceil(len(ends) / (MAX_ROWS - 1))
            ends = ends[step - 1::step] + ([ends[-1]] if len(ends) % step else [])
        times = np.array([now] + ends, dtype=np.float64)
        count, width = len(times), len(state.names)
        delta = {key: np.zeros((count, width), dtype=np.int64)
                 for key in ("cpu", "mem", "gpu", *state.free_gpu_by_type)}
        rows, nodes, cpus, mems = [], [], [], []
        for end, allocations in holders:
            if end is None:
                continue
            row = int(np.searchsorted(times, max(end, now + 1.0), side="left"))
            for alloc in allocations:
                node = state.index.get(alloc.node)
                if node is None:
                    continue
                rows.append(row)
                nodes.append(node)
                cpus.append(alloc.cpus)
                mems.append(alloc.memory_mb)
                types = state.gpu_type_of[node]
                for gpu in alloc.gpus:
                    if gpu in types:
                        delta["gpu"][row, node] += 1
                        if types[gpu]:
                            delta[types[gpu]][row, node] += 1
        if rows:
            np.add.at(delta["cpu"], (rows, nodes), cpus)
            np.add.at(delta["mem"], (rows, nodes), mems)

        def column(key: str, now_free: np.ndarray) -> np.ndarray:
            return now_free[None, :] + np.cumsum(delta[key], axis=0)

        return cls(
            times=times, cpu=column("cpu", state.free_cpu), mem=column("mem", state.free_mem),
            gpu=column("gpu", state.free_gpu),
            gpu_by_type={t: column(t, a) for t, a in state.free_gpu_by_type.items()},
            state=state,
        )

    def split(self, at: float) -> int | None:
        """Make `at` a row boundary (copying the row it falls in); the new row's index, or None
        when it already is one or the timeline is at its size limit."""
        row = int(np.searchsorted(self.times, at, side="left"))
        if row == 0 or (row < len(self.times) and self.times[row] == at):
            return None
        if len(self.times) >= 2 * MAX_ROWS:
            return None
        self.times = np.insert(self.times, row, at)
        self.cpu = np.insert(self.cpu, row, self.cpu[row - 1], axis=0)
        self.mem = np.insert(self.mem, row, self.mem[row - 1], axis=0)
        self.gpu = np.insert(self.gpu, row, self.gpu[row - 1], axis=0)
        self.gpu_by_type = {t: np.insert(c, row, c[row - 1], axis=0)
                            for t, c in self.gpu_by_type.items()}
        return row

    def end_row(self, start_row: int, limit: float | None) -> int:
        """First row not held by a job running [times[start_row], +limit)."""
        if limit is None:
            return len(self.times)
        end = self.times[start_row] + max(limit, 0.0)
        return max(int(np.searchsorted(self.times, end, side="left")), start_row + 1)

    def gpu_column(self, gpu_type: str) -> np.ndarray | None:
        """(K, N) free GPUs of the type ('' = any); None when no node has that type."""
        if not gpu_type:
            return self.gpu
        return self.gpu_by_type.get(gpu_type)

    def fits(self, shape: NodeShape, rows: np.ndarray | slice, order: np.ndarray) -> np.ndarray:
        """(len(rows), len(order)) bool: can each node of `order` hold the per-node demand?

        Compares whole rows and selects `order` once at the end (one gather, not one per
        column)."""
        st = self.state
        cpu, mem = self.cpu[rows], self.mem[rows]
        if shape.exclusive:
            ok = (cpu >= st.total_cpu) & (self.gpu[rows] >= st.total_gpu)
            granted = st.total_cpu
        else:
            ok = cpu >= shape.cpus
            granted = shape.cpus
        if shape.memory_rule is MemoryRule.WHOLE_NODE:
            ok &= mem >= st.total_mem
        elif shape.memory_rule is MemoryRule.PER_NODE:
            ok &= mem >= shape.memory_mb
        else:
            ok &= mem >= shape.memory_mb * granted
        if shape.gpus and not shape.exclusive:
            typed = self.gpu_column(shape.gpu_type)
            if typed is None:
                return np.zeros((ok.shape[0], len(order)), dtype=bool)
            ok &= typed[rows] >= shape.gpus
            if shape.gpu_type:
                ok &= self.gpu[rows] >= shape.gpus
        return ok[:, order]

    def least(self, rows: list[int], nodes: np.ndarray | slice = slice(None)) -> tuple:
        """The least free over `rows` (cpu, mem, any gpu, {type: gpu}) at `nodes`; a typed
        count never exceeds the any-type one, since a typed GPU is counted in both."""
        index = np.asarray(rows)
        gpu = self.gpu[index][:, nodes].min(axis=0)
        return (self.cpu[index][:, nodes].min(axis=0), self.mem[index][:, nodes].min(axis=0), gpu,
                {t: np.minimum(c[index][:, nodes].min(axis=0), gpu)
                 for t, c in self.gpu_by_type.items()})

    def earliest(
        self, shape: NodeShape, order: np.ndarray, eligible: np.ndarray, limit: float | None,
        not_before: float = -math.inf,
    ) -> tuple[int, list[int]] | None:
        """The first row, from the one beginning at or after `not_before`, where `shape` fits
        for its whole `limit`, with the nodes (indices into the cluster, required ones first,
        then in `order`); None if it never does. Costs (rows searched) x len(order)."""
        first = int(np.searchsorted(self.times, not_before, side="left"))
        count = len(self.times) - first
        if count <= 0:
            return None
        ok = self.fits(shape, slice(first, None), order) & eligible[None, :]
        bad = np.zeros((count + 1, len(order)), dtype=np.int32)
        np.cumsum(~ok, axis=0, out=bad[1:])
        if limit is None:
            ends = np.full(count, count)
        else:
            times = self.times[first:]
            ends = np.searchsorted(times, times + max(limit, 0.0), side="left")
            ends = np.maximum(ends, np.arange(1, count + 1))
        window = (bad[ends] - bad[:count]) == 0          # (rows, M): free for the whole window
        position = {int(node): i for i, node in enumerate(order)} if shape.required else {}
        required = [position.get(self.state.index.get(name, -1)) for name in shape.required]
        if any(p is None for p in required):
            return None
        enough = window.sum(axis=1) >= shape.node_count
        if required:
            enough &= window[:, required].all(axis=1)
        hits = np.flatnonzero(enough)
        if not len(hits):
            return None
        row = int(hits[0])
        chosen = list(required)
        free = window[row].copy()
        free[chosen] = False
        chosen.extend(np.flatnonzero(free)[: shape.node_count - len(chosen)].tolist())
        return first + row, [int(order[p]) for p in chosen]

    def hold(self, first: int, last: int, node: int, cpus: int, memory_mb: int,
             gpus: int, gpu_type: str) -> None:
        """Take resources of one node in rows [first, last) (`gpus` counted, of `gpu_type`)."""
        self.cpu[first:last, node] -= cpus
        self.mem[first:last, node] -= memory_mb
        if gpus:
            self.gpu[first:last, node] -= gpus
            if gpu_type:
                self.gpu_by_type[gpu_type][first:last, node] -= gpus

    def hold_all_gpus(self, first: int, last: int, node: int) -> None:
        """An exclusive job takes every GPU of the node, of every type."""
        types = self.state.gpu_type_of[node]
        self.gpu[first:last, node] -= len(types)
        for gpu_type in types.values():
            if gpu_type:
                self.gpu_by_type[gpu_type][first:last, node] -= 1

    def hold_allocation(self, first: int, last: int, alloc: NodeAllocation) -> None:
        """Take what a concrete allocation (GPU indices known) holds, in rows [first, last)."""
        node = self.state.index[alloc.node]
        self.cpu[first:last, node] -= alloc.cpus
        self.mem[first:last, node] -= alloc.memory_mb
        types = self.state.gpu_type_of[node]
        for gpu in alloc.gpus:
            self.gpu[first:last, node] -= 1
            if types.get(gpu):
                self.gpu_by_type[types[gpu]][first:last, node] -= 1
