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
from dataclasses import dataclass, field

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
    # Each (K, N) column is a view of the first K rows of a bigger buffer, so that `split` (one
    # per reservation) shifts rows in place instead of copying every column whole.
    _spare: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def build(cls, state: ClusterState, now: float,
              holders: list[tuple[float | None, tuple[NodeAllocation, ...]]],
              limits: set[float] = frozenset(), resolution: float = 0.0) -> Timeline:
        """From the free columns of `state` now and the (end, allocations) of everything that
        holds resources in it (an end of None never comes), with rows at now + each of
        `limits` too (where jobs started now would end). With a `resolution` (bf_resolution)
        every end is rounded up to a multiple of it after now: fewer rows, never a late one."""
        ends = {end for end, _ in holders if end is not None}
        ends.update(now + limit for limit in limits)
        if resolution > 0:
            ends = {now + math.ceil((end - now) / resolution) * resolution for end in ends}
        ends = sorted({max(end, now + 1.0) for end in ends})
        if len(ends) > MAX_ROWS - 1:
            # Keep evenly spaced ends and the last one; a release moves to the next kept row.
            step = math.ceil(len(ends) / (MAX_ROWS - 1))
            ends = ends[step - 1::step] + ([ends[-1]] if len(ends) % step else [])
        times = np.array([now] + ends, dtype=np.float64)
        count, width = len(times), len(state.names)
        delta = {key: np.zeros((count, width), dtype=np.int64)
                 for key in ("cpu", "mem", "gpu", *state.free_gpu_by_type)}
        # Every release at once: the row of each holder's end, then one scatter-add per column.
        ending = [(end, allocations) for end, allocations in holders if end is not None]
        end_rows = times.searchsorted(np.maximum([end for end, _ in ending], now + 1.0),
                                      side="left").tolist() if ending else []
        rows, nodes, cpus, mems = [], [], [], []
        gpu_at: dict[str, tuple[list[int], list[int]]] = {}
        index, type_of = state.index, state.gpu_type_of
        for row, (_, allocations) in zip(end_rows, ending):
            for alloc in allocations:
                node = index.get(alloc.node)
                if node is None:
                    continue
                rows.append(row)
                nodes.append(node)
                cpus.append(alloc.cpus)
                mems.append(alloc.memory_mb)
                if alloc.gpus:
                    types = type_of[node]
                    for gpu in alloc.gpus:
                        gpu_type = types.get(gpu)
                        if gpu_type is None:
                            continue
                        for key in ("gpu", gpu_type) if gpu_type else ("gpu",):
                            at = gpu_at.setdefault(key, ([], []))
                            at[0].append(row)
                            at[1].append(node)
        if rows:
            np.add.at(delta["cpu"], (rows, nodes), cpus)
            np.add.at(delta["mem"], (rows, nodes), mems)
        for key, (at_rows, at_nodes) in gpu_at.items():
            np.add.at(delta[key], (at_rows, at_nodes), 1)

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
        row = int(self.times.searchsorted(at, side="left"))
        if row == 0 or (row < len(self.times) and self.times[row] == at):
            return None
        if len(self.times) >= 2 * MAX_ROWS:
            return None
        count = len(self.times)
        self.times = np.insert(self.times, row, at)
        self.cpu = self._insert_row("cpu", self.cpu, row, count)
        self.mem = self._insert_row("mem", self.mem, row, count)
        self.gpu = self._insert_row("gpu", self.gpu, row, count)
        self.gpu_by_type = {t: self._insert_row("gpu:" + t, c, row, count)
                            for t, c in self.gpu_by_type.items()}
        return row

    def _insert_row(self, key: str, column: np.ndarray, row: int, count: int) -> np.ndarray:
        """`column` (`count` rows) with a copy of row - 1 inserted at `row`."""
        buffer = self._spare.get(key)
        if buffer is None or buffer.shape[0] <= count or column.base is not buffer:
            buffer = np.empty((min(2 * count + 1, 2 * MAX_ROWS), column.shape[1]),
                              dtype=column.dtype)
            buffer[:count] = column
            self._spare[key] = buffer
        buffer[row + 1:count + 1] = buffer[row:count]   # numpy copies overlapping rows safely
        buffer[row] = buffer[row - 1]
        return buffer[:count + 1]

    def end_row(self, start_row: int, limit: float | None) -> int:
        """First row not held by a job running [times[start_row], +limit)."""
        if limit is None:
            return len(self.times)
        end = self.times[start_row] + max(limit, 0.0)
        return max(int(self.times.searchsorted(end, side="left")), start_row + 1)

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

    def running_least(self, rows: list[int], nodes: np.ndarray) -> tuple:
        """`least` over rows[:k + 1] for every k at once, at a few `nodes`: row k of each
        (len(rows), len(nodes)) result is what `least(rows[:k + 1], nodes)` gives."""
        cells = np.ix_(np.asarray(rows), nodes)
        gpu = np.minimum.accumulate(self.gpu[cells], axis=0)
        return (np.minimum.accumulate(self.cpu[cells], axis=0),
                np.minimum.accumulate(self.mem[cells], axis=0), gpu,
                {t: np.minimum(np.minimum.accumulate(c[cells], axis=0), gpu)
                 for t, c in self.gpu_by_type.items()})

    def earliest(
        self, shape: NodeShape, order: np.ndarray, eligible: np.ndarray, limit: float | None,
        not_before: float = -math.inf, memo: dict | None = None,
    ) -> tuple[int, list[int]] | None:
        """The first row, from the one beginning at or after `not_before`, where `shape` fits
        for its whole `limit`, with the nodes (indices into the cluster, required ones first,
        then in `order`); None if it never does. Costs (rows searched) x len(order). A `memo`
        (for searches on a timeline that does not change in between) keeps the per-node running
        count of rows where the shape does not fit, which is the same whatever the limit."""
        first = int(self.times.searchsorted(not_before, side="left"))
        count = len(self.times) - first
        if count <= 0:
            return None
        key = (shape, id(order), id(eligible), first)
        next_bad = None if memo is None else memo.get(key)
        if next_bad is None:
            ok = self.fits(shape, slice(first, None), order) & eligible[None, :]
            # next_bad[r, m]: the first row at or after r where node m cannot hold the shape
            # (count when none): one backward running minimum over the rows.
            rows = np.arange(count, dtype=np.int32)[:, None]
            next_bad = np.where(ok, np.int32(count), rows)[::-1]
            np.minimum.accumulate(next_bad, axis=0, out=next_bad)
            next_bad = next_bad[::-1]
            if memo is not None:
                memo[key] = next_bad
        if limit is None:
            ends = np.full(count, count)
        else:
            times = self.times[first:]
            ends = times.searchsorted(times + max(limit, 0.0), side="left")
            ends = np.maximum(ends, np.arange(1, count + 1))
        window = next_bad >= ends[:, None]              # (rows, M): free for the whole window
        position = {int(node): i for i, node in enumerate(order)} if shape.required else {}
        required = [position.get(self.state.index.get(name, -1)) for name in shape.required]
        if any(p is None for p in required):
            return None
        enough = window.sum(axis=1) >= shape.node_count
        if required:
            enough &= window[:, required].all(axis=1)
        hits = enough.nonzero()[0]
        if not len(hits):
            return None
        row = int(hits[0])
        chosen = list(required)
        free = window[row].copy()
        free[chosen] = False
        chosen.extend(free.nonzero()[0][: shape.node_count - len(chosen)].tolist())
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
