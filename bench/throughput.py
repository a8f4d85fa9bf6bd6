"""Submit-and-run throughput: N trivial jobs on 16 slots (2 nodes x 8 CPUs), like baseline (f).

    .venv/bin/python bench/throughput.py [-n 1000] [--db URL]

Submits N `true` jobs (-c1 --mem=100) through the SDK (one request per job, so each is its own
committed transaction, as N sbatch calls would be) and reports the seconds from the first submit
until the last job has finished, and the submit-to-start latency of a job on the idle cluster.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

from commands import local
from sdk.client import Client
from sdk.records import JobSpec


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--db")
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="bench-tp-")
    os.environ.setdefault("XDG_STATE_HOME", os.path.join(root, "xdg"))
    layout = local.up(os.path.join(root, "cluster"), nodes=2, cpus=8, mem=16000, db=args.db)
    try:
        client = Client(layout.conf)
        work = os.path.join(root, "work")
        os.makedirs(work)
        # submit-to-start latency on the idle cluster: the job's first line writes a timestamp
        lat = []
        for i in range(10):
            stamp = os.path.join(work, f"lat{i}")
            spec = JobSpec(script=f"#!/bin/sh\ndate +%s.%N > {stamp}\n", name="lat", work_dir=work,
                           submit_dir=work, stdout="/dev/null", mem_per_node_mb=100)
            client.submit(spec)
            t1 = time.time()
            while not (os.path.exists(stamp) and os.path.getsize(stamp)):
                time.sleep(0.001)
            lat.append(float(open(stamp).read()) - t1)
            time.sleep(0.2)
        spec = JobSpec(script="#!/bin/sh\ntrue\n", name="tp", work_dir=work, submit_dir=work,
                       stdout="/dev/null", mem_per_node_mb=100, cpus_per_task=1)
        t0 = time.perf_counter()
        ids = [client.submit(spec) for _ in range(args.n)]
        submitted = time.perf_counter() - t0
        while client.jobs():
            time.sleep(0.05)
        total = time.perf_counter() - t0
        states = {r.job.state for r in client.accounting(job_ids=ids)}
        print(f"submit-to-start latency on an idle cluster, median of 10: {statistics.median(lat) * 1000:.1f} ms "
              f"(min {min(lat) * 1000:.1f}, max {max(lat) * 1000:.1f})")
        print(f"{args.n} trivial jobs on 16 slots via the SDK: submitted in {submitted:.2f} s, "
              f"all finished {total:.2f} s after the first submit ({args.n / total:.0f} jobs/s); states {sorted(states)}")
    finally:
        local.down(layout.root)


if __name__ == "__main__":
    main()
