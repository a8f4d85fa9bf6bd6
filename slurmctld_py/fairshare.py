"""Decayed usage per association and the fair-share factors derived from it.

Every PriorityCalcPeriod the controller calls `UsageLedger.tick`: stored usage decays by
PriorityDecayHalfLife, each run charges its billable TRES (partition TRESBillingWeights, times
its QOS UsageFactor) for the seconds it ran since its last charge, a PriorityUsageResetPeriod
boundary zeroes everything, and the rows it returns are committed to `assoc_usage` so a restart
keeps them. Fair-share factors (Fair Tree, or classic with PriorityFlags=NO_FAIR_TREE) are
recomputed from the new usage and from the association tree whenever either changed; the
scheduler reads them through `priority_inputs` (Slurm likewise recomputes them per calc period,
not per job).

A run that ends between two ticks is charged up to its end at the next tick. What a crash costs:
the usage of runs that ended after the last tick and before the crash (at most one period).
"""
from __future__ import annotations

from dataclasses import dataclass

from accounting.associations import UsageRow
from solver import PriorityInputs
from solver.billing import AllocatedTres, billable_tres, parse_billing_weights
from solver.decay import decayed, next_reset, run_usage
from solver.fairshare import FairShareResult, ShareNode, classic, fair_tree

DEFAULT_CALC_PERIOD = 300.0


@dataclass(slots=True)
class _Charge:
    """A run whose usage is being charged to an association."""

    assoc_id: int
    charged_until: float
    end: float | None
    billable: float
    usage_factor: float
    tres: dict[str, float]          # allocated TRES counts (for TRESRunMins)
    time_limit_end: float | None


class UsageLedger:
    def __init__(self, config) -> None:
        self.config = config
        self.half_life = float(getattr(config, "priority_decay_half_life", 7 * 86400) or 0)
        period = getattr(config, "priority_calc_period", None)
        self.calc_period = float(period) if period else DEFAULT_CALC_PERIOD
        self.reset_period = (getattr(config, "priority_usage_reset_period", "NONE") or "NONE").upper()
        self.flags = frozenset(f.upper() for f in (getattr(config, "priority_flags", ()) or ()))
        self.dampening = float(getattr(config, "fair_share_dampening_factor", 1) or 1)
        self.usage: dict[int, float] = {}
        self.last_tick: float | None = None
        self.next_reset: float | None = None
        self.generation = 0
        self._charges: dict[tuple[int, int], _Charge] = {}
        self._cached: tuple[tuple[int, int], FairShareResult] | None = None
        self._inputs: tuple[tuple[int, int], PriorityInputs] | None = None
        self._weights = {p.name: parse_billing_weights(p.tres_billing_weights)
                         for p in config.partitions if getattr(p, "tres_billing_weights", "")}

    @property
    def fair_tree(self) -> bool:
        return "NO_FAIR_TREE" not in self.flags

    # ---------------------------------------------------------------- state
    def restore(self, rows: dict[int, UsageRow], now: float) -> None:
        self.usage = {assoc_id: row.usage_raw for assoc_id, row in rows.items()}
        stamps = [row.updated_at for row in rows.values() if row.updated_at]
        self.last_tick = max(stamps) if stamps else now
        if self.reset_period == "NOW":
            self.usage = {k: 0.0 for k in self.usage}
        self.next_reset = next_reset(self.last_tick, self.reset_period)
        self.generation += 1

    def run_started(self, *, job_id: int, attempt: int, assoc_id: int | None, start: float,
                    partition: str, allocations, usage_factor: float,
                    time_limit_end: float | None) -> None:
        if assoc_id is None:
            return  # no association: nobody to charge (Slurm cannot run such a job at all)
        alloc = AllocatedTres(
            cpus=sum(a.cpus for a in allocations), memory_mb=sum(a.memory_mb for a in allocations),
            gpus=sum(len(a.gpus) for a in allocations), nodes=len(allocations))
        billing = billable_tres(alloc, self._weights.get(partition, {}), self.flags)
        start_from = max(start, self.last_tick) if self.last_tick is not None else start
        self._charges[(job_id, attempt)] = _Charge(
            assoc_id, start_from, None, billing, usage_factor,
            {"cpu": alloc.cpus, "mem": alloc.memory_mb, "node": alloc.nodes,
             "billing": billing, "gres/gpu": alloc.gpus},
            time_limit_end)

    def run_ended(self, job_id: int, attempt: int, end: float) -> None:
        charge = self._charges.get((job_id, attempt))
        if charge is not None:
            charge.end = end

    def tick(self, now: float, active: set[tuple[int, int]] | None = None) -> list[UsageRow]:
        """Decay, charge, reset; the usage rows to commit. `active` (job id, attempt) pairs
        still running: a charge not among them whose end was never reported ends now."""
        if active is not None:
            for key, charge in self._charges.items():
                if charge.end is None and key not in active:
                    charge.end = now
        last = self.last_tick if self.last_tick is not None else now
        elapsed = max(0.0, now - last)
        if elapsed:
            self.usage = {k: decayed(v, elapsed, self.half_life) for k, v in self.usage.items()}
        for key, charge in list(self._charges.items()):
            until = now if charge.end is None else min(charge.end, now)
            ran = until - charge.charged_until
            if ran > 0:
                self.usage[charge.assoc_id] = self.usage.get(charge.assoc_id, 0.0) + run_usage(
                    ran, charge.billable, self.half_life, charge.usage_factor)
                charge.charged_until = until
            if charge.end is not None and charge.end <= now:
                del self._charges[key]
        if self.next_reset is not None and now >= self.next_reset:
            self.usage = {k: 0.0 for k in self.usage}
            self.next_reset = next_reset(now, self.reset_period)
        self.last_tick = now
        self.generation += 1
        return [UsageRow(k, v, {}, now) for k, v in sorted(self.usage.items())]

    # ---------------------------------------------------------------- derived values
    def fairshare(self, registry) -> FairShareResult:
        key = (registry.version, self.generation)
        if self._cached is not None and self._cached[0] == key:
            return self._cached[1]
        result = self._compute(registry)
        self._cached = (key, result)
        return result

    def _compute(self, registry) -> FairShareResult:
        assocs = [a for a in registry.associations() if not a.partition]
        account_ids = {a.account: a.id for a in assocs if not a.user}
        nodes = []
        for a in assocs:
            if not a.user and a.account == "root" and not a.parent_account:
                parent = None
            elif a.user:
                parent = account_ids.get(a.account)
            else:
                parent = account_ids.get(a.parent_account)
            nodes.append(ShareNode(a.id, a.account, a.user, parent, a.shares,
                                   self.usage.get(a.id, 0.0) if a.user else 0.0))
        if not nodes:
            return FairShareResult((), {})
        if self.fair_tree:
            return fair_tree(nodes)
        return classic(nodes, self.dampening)

    def priority_inputs(self, registry) -> PriorityInputs:
        """What the priority formula reads; rebuilt only when the tree or the usage changed
        (every scheduling pass asks)."""
        key = (registry.version, self.generation)
        if self._inputs is not None and self._inputs[0] == key:
            return self._inputs[1]
        qos = registry.qos()
        inputs = PriorityInputs(
            fairshare=self.fairshare(registry).factor_by_user_account,
            assoc_priority={(a.user, a.account): a.priority or 0
                            for a in registry.associations() if a.user},
            qos_priority={name: q.priority for name, q in qos.items()},
        )
        self._inputs = (key, inputs)
        return inputs

    def tres_run_minutes(self, now: float) -> dict[int, dict[str, float]]:
        """Per association: TRES x minutes left to the running jobs' time limits (sshare
        TRESRunMins)."""
        out: dict[int, dict[str, float]] = {}
        for charge in self._charges.values():
            if charge.end is not None or charge.time_limit_end is None:
                continue
            minutes = max(0.0, (charge.time_limit_end - now) / 60.0)
            acc = out.setdefault(charge.assoc_id, {})
            for name, count in charge.tres.items():
                acc[name] = acc.get(name, 0.0) + count * minutes
        return out
