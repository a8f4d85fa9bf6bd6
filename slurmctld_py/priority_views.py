"""What sprio and sshare read: each pending job's priority factors, and the fair-share tree.

sprio shows one row per (pending job, partition), like Slurm, with the factors the scheduler
used on its last pass recomputed from a fresh snapshot (the same pure functions, so the numbers
are the ones that ordered the queue). sshare shows `UsageLedger.fairshare` as rows.
"""
from __future__ import annotations

import math
from dataclasses import replace

from solver import PriorityContext, priority_factors
from slurmctld_py.scheduler import build_snapshot

# sshare's TRESRunMins lists these TRES, in Slurm's order, even when zero
_RUN_MINS_TRES = ("cpu", "mem", "energy", "node", "billing", "fs/disk", "vmem", "pages")


def priority_report(ctl, cache, now: float) -> dict:
    snapshot = build_snapshot(ctl, cache, now)
    ctx = PriorityContext.of(snapshot)
    policy = snapshot.policy
    rows = []
    for request in snapshot.pending:
        job = ctl.jobs.get(request.job_id)
        if job is None:
            continue
        for part in dict.fromkeys(request.partitions):
            factors = priority_factors(replace(request, partitions=(part,)), ctx)
            rows.append({
                "job_id": request.job_id, "partition": part, "user": job.user_name,
                "account": job.account, "qos": job.qos, "nice": job.nice,
                "priority": factors.priority,
                "normalised": {"site": factors.site, "age": factors.age, "assoc": factors.assoc,
                               "fairshare": factors.fairshare, "job_size": factors.job_size,
                               "partition": factors.partition, "qos": factors.qos},
                "weighted": factors.weighted(policy),
                "tres": [[name, value] for name, value in factors.tres],
            })
    weights = {"age": policy.priority_weight_age, "assoc": policy.priority_weight_assoc,
               "fairshare": policy.priority_weight_fairshare,
               "job_size": policy.priority_weight_job_size,
               "partition": policy.priority_weight_partition, "qos": policy.priority_weight_qos,
               "site": 1}
    return {"jobs": rows, "weights": weights,
            "tres_weights": [[k, v] for k, v in policy.priority_weight_tres],
            "priority_type": ctl.config.priority_type}


def share_report(ctl, now: float) -> dict:
    result = ctl.usage.fairshare(ctl.associations)
    run_mins = ctl.usage.tres_run_minutes(now)
    # an account's TRESRunMins is the sum over its subtree, as Slurm shows it
    rows = list(result.rows)
    totals: list[dict[str, float]] = [dict(run_mins.get(r.key, {})) for r in rows]
    for i in range(len(rows) - 1, -1, -1):
        depth = rows[i].depth
        j = i + 1
        while j < len(rows) and rows[j].depth > depth:
            if rows[j].depth == depth + 1:
                for k, v in totals[j].items():
                    totals[i][k] = totals[i].get(k, 0.0) + v
            j += 1
    out = []
    for row, tres in zip(rows, totals):
        out.append({
            "id": row.key, "account": row.account, "user": row.user, "depth": row.depth,
            "raw_shares": "parent" if row.is_parent_share else row.raw_shares,
            "norm_shares": row.norm_shares, "raw_usage": row.raw_usage,
            "norm_usage": row.norm_usage, "effective_usage": row.effective_usage,
            "fairshare": row.fairshare,
            "level_fs": None if row.level_fs is None else (
                "inf" if math.isinf(row.level_fs) else row.level_fs),
            "tres_run_mins": ",".join(f"{name}={int(tres.get(name, 0))}" for name in _RUN_MINS_TRES),
        })
    return {"rows": out, "fair_tree": ctl.usage.fair_tree, "cluster": ctl.config.cluster_name}



