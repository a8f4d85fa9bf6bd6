"""Views at scale: `squeue` with 10,000 jobs queued and `sacct` over 100,000 finished jobs.

    .venv/bin/python bench/views.py [--jobs 10000] [--history 100000] [--db URL] [--runs 20]

1. A local cluster (4 nodes x 8 CPUs) gets `--jobs` held jobs through the SDK (100 per request);
   hyperfine times the squeue queries below.
2. The jobs are cancelled, then `--history` finished jobs (each with its `batch` step, ended over
   the last 30 days, a third of them FAILED) are written straight into the cluster's database with
   the data layer's bulk insert (accounting.store.insert_jobs / accounting.bulk.insert_rows), job
   ids taken from the same counter the controller uses; hyperfine times the sacct queries below,
   with the controller up and again with it stopped (sacct then reads the database itself).
Prints a Markdown table and writes hyperfine's JSON under --out.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".venv", "bin")
sys.path.insert(0, ROOT)

SQUEUE_QUERIES = ["squeue", "squeue -h -o %i", "squeue -u root -t PD -o '%.18i %.9P %.8j %.8u %.2t %.10M %R'"]


def sacct_queries(window_start: str, first_id: int, count: int) -> list[str]:
    return [
        f"sacct -a -X -n -P -S {window_start} -E now -o JobID,State,NodeList",   # the whole history
        f"sacct -a -n -P -S {window_start} -E now -o JobID,State,ExitCode",      # with the batch steps
        "sacct -a -X",                                                          # default window: today
        f"sacct -j {first_id + count // 2}",                                    # one job deep in the history
    ]


def hyperfine(commands: list[str], out: str, env: dict, runs: int, warmup: int = 2) -> list[dict]:
    subprocess.run(["hyperfine", "-N", "-w", str(warmup), "-r", str(runs), "--export-json", out,
                    "--output=null", *commands], check=True, env=env, cwd=ROOT)
    return json.load(open(out))["results"]


def submit_held(conf: str, count: int) -> None:
    from sdk.client import Client
    from sdk.records import JobSpec
    client = Client(conf)
    spec = JobSpec(script="#!/bin/sh\ntrue\n", name="bench", hold=True, work_dir="/tmp", mem_per_node_mb=10)
    for first in range(0, count, 100):
        client.submit_many([spec] * min(100, count - first))


def insert_history(conf: str, count: int, now: float) -> tuple[int, float]:
    """`count` finished jobs with their batch steps; returns (first job id, earliest submit time)."""
    from accounting import make_engine, session_factory, store
    from accounting.bulk import insert_rows
    from accounting.models import Step
    from accounting.reader import database_url
    from conf.slurmconf import load_config
    config = load_config(conf)
    engine = make_engine(database_url(config))
    rng = random.Random(42)
    span = 30 * 86400
    earliest = now
    with session_factory(engine)() as s, s.begin():
        ids = store.allocate_job_ids(s, count, config.first_job_id)
        jobs, steps = [], []
        for i, job_id in enumerate(ids):
            submit = now - span + span * i / count
            start = submit + rng.uniform(0, 60)
            end = start + rng.uniform(1, 3600)
            failed = i % 3 == 0
            state = "FAILED" if failed else "COMPLETED"
            node = f"n{1 + i % 4}"
            jobs.append({"job_id": job_id, "uid": 0, "gid": 0, "user_name": "root", "group_name": "root",
                         "name": f"hist{i % 100}", "partition": "cpu", "req_partitions": "cpu", "state": state,
                         "reason": "NonZeroExitCode" if failed else "None", "submit_time": submit,
                         "eligible_time": submit, "start_time": start, "end_time": end, "exit_code": int(failed),
                         "nodes": node, "num_cpus": 1, "req_tres": "cpu=1,mem=100M,node=1,billing=1",
                         "alloc_tres": "cpu=1,mem=100M,node=1,billing=1", "work_dir": "/tmp", "current_attempt": 1})
            steps.append({"job_id": job_id, "attempt": 1, "step_id": "batch", "name": "batch", "state": state,
                          "start_time": start, "end_time": end, "exit_code": int(failed), "exit_signal": 0,
                          "nodes": node, "num_cpus": 1, "num_tasks": 1, "alloc_tres": "cpu=1,mem=100M,node=1"})
            earliest = min(earliest, submit)
        store.insert_jobs(s, jobs)
        insert_rows(s, Step.__table__, steps)
    engine.dispose()
    return ids[0], earliest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--history", type=int, default=100_000)
    parser.add_argument("--db", default=None)
    parser.add_argument("--runs", type=int, default=20, help="hyperfine runs per squeue query")
    parser.add_argument("--sacct-runs", type=int, default=5, help="hyperfine runs per sacct query")
    parser.add_argument("--squeue-only", action="store_true", help="skip the sacct part")
    parser.add_argument("--dir", default="/tmp/bench-views")
    parser.add_argument("--out", default="/tmp/bench-views-results")
    args = parser.parse_args()
    if shutil.which("hyperfine") is None:
        sys.exit("hyperfine is needed (apt-get install hyperfine)")
    os.makedirs(args.out, exist_ok=True)
    local = os.path.join(BIN, "slurm-local")
    subprocess.run([local, "down", "--dir", args.dir], capture_output=True)
    shutil.rmtree(args.dir, ignore_errors=True)
    up = [local, "up", "--nodes", "4", "--cpus", "8", "--mem", "16000", "--dir", args.dir]
    if args.db:
        up += ["--db", args.db]
    subprocess.run(up, check=True, stdout=subprocess.DEVNULL)
    conf = os.path.join(args.dir, "slurm.conf")
    env = dict(os.environ, SLURM_CONF=conf, PATH=BIN + os.pathsep + os.environ["PATH"])
    table = []
    try:
        t0 = time.monotonic()
        submit_held(conf, args.jobs)
        print(f"# {args.jobs} held jobs submitted in {time.monotonic() - t0:.1f} s", file=sys.stderr)
        for r in hyperfine(SQUEUE_QUERIES, os.path.join(args.out, "squeue.json"), env, args.runs):
            table.append((f"`{r['command']}` ({args.jobs:,} pending)", r))
        subprocess.run([os.path.join(BIN, "scancel"), "-u", "root"], check=True, env=env)
        if args.squeue_only:
            return _print(table)
        t0 = time.monotonic()
        first_id, earliest = insert_history(conf, args.history, time.time())
        print(f"# {args.history} finished jobs inserted in {time.monotonic() - t0:.1f} s", file=sys.stderr)
        start = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(earliest - 60))
        queries = sacct_queries(start, first_id, args.history)
        for r in hyperfine(queries, os.path.join(args.out, "sacct.json"), env, args.sacct_runs, warmup=1):
            table.append((f"`{r['command']}` ({args.history:,} finished)", r))
        pid = int(open(os.path.join(args.dir, "run", "slurmctld.pid")).read())
        os.kill(pid, 15)
        time.sleep(1.0)
        offline = [queries[0], queries[3]]
        for r in hyperfine(offline, os.path.join(args.out, "sacct-offline.json"), env, args.sacct_runs, warmup=1):
            table.append((f"`{r['command']}`, controller down", r))
        lines = [len(subprocess.run(q, shell=True, capture_output=True, text=True, env=env).stdout.splitlines())
                 for q in offline]
        print(f"# offline output lines: {lines}", file=sys.stderr)
    finally:
        subprocess.run([local, "down", "--dir", args.dir], capture_output=True)
    return _print(table)


def _print(table: list) -> int:
    print("| query | mean | σ | min | max |")
    print("|---|---|---|---|---|")
    for name, r in table:
        print(f"| {name} | {r['mean'] * 1000:.0f} ms | {r['stddev'] * 1000:.0f} ms | "
              f"{r['min'] * 1000:.0f} ms | {r['max'] * 1000:.0f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
