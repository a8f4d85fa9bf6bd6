"""`sbatch --test-only`: when and where would this job start, without creating it.

The job is validated exactly as a submission (job_row raises the same errors), then added to a
snapshot of the cluster as it is now and the solver plans with a reservation for every pending
job (conservative backfill), so the answer is the solver's own forecast for the new job, queued
behind everything already waiting.
"""
from __future__ import annotations

from dataclasses import replace

from conf.hostlist import compress_hostlist
from slurmctld_py.errors import RequestError
from slurmctld_py.submit import Caller, job_row, parse_spec

FORECAST_DEPTH = 1_000_000      # reserve for every pending job, so the new one gets a start time
NO_FORECAST_DELAY = 365 * 86400  # seconds ahead, for a job whose start nothing can forecast


def will_run(ctl, caller: Caller, raw_spec: object, now: float) -> dict:
    """{"job_id", "start_time", "cpus", "nodes", "partition"} for a job that is not submitted."""
    from solver import solve
    from slurmctld_py.controller import job_from_dict
    from slurmctld_py.scheduler import RequestCache, build_snapshot

    spec = parse_spec(raw_spec)
    job_id = max([ctl.config.first_job_id - 1, *ctl.jobs]) + 1   # the id a submission would get
    row = job_row(spec, caller, ctl.config, now, job_id=job_id, key=None)
    job = job_from_dict(row)
    largest = max(len(ctl.config.partition(p).nodes) for p in job.partition.split(","))
    if job.num_nodes > largest:   # slurmctld's will-run answer for more nodes than there are
        raise RequestError("REQUESTED_NODE_CONFIG_UNAVAILABLE")
    cache = RequestCache()
    snapshot = build_snapshot(ctl, cache, now)
    request = replace(cache.get(job), held=False, submit_time=now)
    snapshot = replace(snapshot, pending=(*snapshot.pending, request),
                       policy=replace(snapshot.policy, reservation_depth=FORECAST_DEPTH))
    plan = solve(snapshot)
    for start in plan.starts:
        if start.job_id == job_id:
            return {"job_id": job_id, "start_time": int(now), "cpus": sum(a.cpus for a in start.allocations),
                    "nodes": compress_hostlist(a.node for a in start.allocations), "partition": start.partition}
    for decision in plan.pending:
        if decision.job_id != job_id:
            continue
        if decision.reason.value == "PartitionConfig":   # larger than its partition: no will-run
            raise RequestError("REQUESTED_NODE_CONFIG_UNAVAILABLE")
        partition = decision.expected_partition or job.partition.split(",")[0]
        if decision.expected_start is not None:
            return {"job_id": job_id, "start_time": int(max(now, decision.expected_start)),
                    "cpus": job.num_cpus, "nodes": compress_hostlist(decision.expected_nodes),
                    "partition": partition}
        # No forecast (it waits behind jobs without a time limit): like slurmctld, still answer
        # with a start far in the future, on the first nodes of the partition.
        names = ctl.config.partition(partition).nodes[:job.num_nodes]
        return {"job_id": job_id, "start_time": int(now) + NO_FORECAST_DELAY, "cpus": job.num_cpus,
                "nodes": compress_hostlist(names), "partition": partition}
    raise RequestError("REQUESTED_NODE_CONFIG_UNAVAILABLE")
