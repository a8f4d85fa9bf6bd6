"""SDK submissions per second into a real local cluster, one at a time and in batches.

    .venv/bin/python bench/sdk_submit.py [--db postgresql+psycopg://postgres@127.0.0.1/bench_x] [-n 2000]

Starts a 2-node cluster (held jobs only, so nothing runs), submits N jobs with Client.submit (one
request and one transaction each) and N with Client.submit_many in batches of 100, and prints
jobs/s for both. Without --db it creates (and drops) a throwaway PostgreSQL database; --sqlite
uses the embedded default instead.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

from commands import local
from sdk.client import Client
from sdk.records import JobSpec


def throwaway_pg() -> tuple[str, callable]:
    import psycopg
    name = f"bench_{os.getpid()}_{int(time.time())}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", drop


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--db")
    ap.add_argument("--sqlite", action="store_true")
    args = ap.parse_args()
    drop = None
    db = args.db
    if not db and not args.sqlite:
        db, drop = throwaway_pg()
    root = tempfile.mkdtemp(prefix="bench-sdk-")
    os.environ.setdefault("XDG_STATE_HOME", os.path.join(root, "xdg"))
    layout = local.up(os.path.join(root, "cluster"), nodes=2, cpus=8, mem=16000, db=db)
    try:
        client = Client(layout.conf)
        spec = JobSpec(script="#!/bin/sh\ntrue\n", name="bench", hold=True, work_dir="/tmp", submit_dir="/tmp")
        t0 = time.perf_counter()
        for _ in range(args.n):
            client.submit(spec)
        single = args.n / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        for _ in range(args.n // args.batch):
            client.submit_many([spec] * args.batch)
        batched = (args.n // args.batch * args.batch) / (time.perf_counter() - t0)
        where = "SQLite" if args.sqlite else "PostgreSQL"
        print(f"SDK submit into {where}, one job per request: {single:.0f} jobs/s ({args.n} jobs)")
        print(f"SDK submit_many into {where}, {args.batch} jobs per request: {batched:.0f} jobs/s")
    finally:
        local.down(layout.root)
        if drop:
            drop()


if __name__ == "__main__":
    main()
