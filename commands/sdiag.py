"""sdiag: the controller's scheduling and RPC statistics in Slurm 22.05's sdiag layout.

Filled from the controller's `stats` op (jobs_submitted, jobs_started, jobs_ended, cycles,
last_cycle_s, mean_cycle_s, max_cycle_s, last_queue_length, jobs_pending, jobs_running, since,
backfill {cycles, backfilled_jobs, last_cycle_when, last/max/total_cycle_s, last/total_depth,
last/total_queue_length}, rpc_counts, outbox, agent_frames_*). Figures the controller does not
keep (thread counts, per-RPC times, per-user counts, backfill table sizes) print as 0, as a fresh
Slurm controller prints them; optional keys (`jobs_completed`, `jobs_canceled`, `jobs_failed`,
`rpc_times_s`) are used when present.
The layout was copied from `/usr/bin/sdiag` on the live Slurm here
(tests/commands/data/slurm_sdiag.txt). Pure part: `format_sdiag(stats, now, sort)`.
"""
from __future__ import annotations

import sys
import time

from commands.optscan import ScanError, scan

PROG = "sdiag"
VERSION = "slurm 22.05.8"
RULE = "*" * 55

# our op name -> (Slurm message type, its number), so the RPC table reads as Slurm's does
RPC_NAMES = {
    "ping": ("REQUEST_PING", 1008), "config": ("REQUEST_BUILD_INFO", 2001),
    "jobs": ("REQUEST_JOB_INFO", 2003), "nodes": ("REQUEST_NODE_INFO", 2007),
    "partitions": ("REQUEST_PARTITION_INFO", 2009), "stats": ("REQUEST_STATS_INFO", 2035),
    "update": ("REQUEST_UPDATE_JOB", 3001), "update_job": ("REQUEST_UPDATE_JOB", 3001),
    "update_node": ("REQUEST_UPDATE_NODE", 3002), "submit": ("REQUEST_SUBMIT_BATCH_JOB", 4003),
    "cancel": ("REQUEST_KILL_JOB", 5032), "signal": ("REQUEST_KILL_JOB", 5032),
    "token": ("REQUEST_AUTH_TOKEN", 5039), "accounting": ("DBD_GET_JOBS_COND", 1444),
}

SHORT = "arM:itTV"
LONGS = {"all": ("a", 0), "reset": ("r", 0), "cluster": ("M", 1), "sort-by-id": ("i", 0),
         "sort-by-time": ("t", 0), "sort-by-time2": ("T", 0), "version": ("V", 0),
         "help": ("help", 0), "usage": ("usage", 0)}

HELP = """\
Usage: sdiag [OPTIONS]
  -a, --all           all statistics
  -r, --reset         reset statistics
  -M, --cluster       direct the request to a specific cluster
  -i, --sort-by-id    sort RPCs by id
  -t, --sort-by-time  sort RPCs by total run time
  -T, --sort-by-time2 sort RPCs by average run time
  -V, --version       display current version number

Help options:
  --help          show this help message
  --usage         display brief usage message
"""


def _when(t: int) -> str:
    return f"{time.strftime('%a %b %d %H:%M:%S %Y', time.localtime(t))} ({t})"


def _us(seconds) -> int:
    return int(round(float(seconds or 0) * 1_000_000))


def rpc_rows(stats: dict, sort: str = "count") -> list[tuple[str, int, int, int, int]]:
    """(message type, id, count, average µs, total µs) per op, in sdiag's order:
    by count (default), id (-i), total time (-t) or average time (-T), largest first."""
    times = stats.get("rpc_times_s") or {}
    merged: dict[tuple[str, int], list[float]] = {}
    for op, count in (stats.get("rpc_counts") or {}).items():
        key = RPC_NAMES.get(op, (op.upper(), 0))
        entry = merged.setdefault(key, [0, 0.0])
        entry[0] += int(count)
        entry[1] += float(times.get(op, 0))
    rows = []
    for (name, number), (count, total_s) in merged.items():
        total = _us(total_s)
        rows.append((name, number, count, total // count if count else 0, total))
    if sort == "id":
        rows.sort(key=lambda r: r[1])
    else:
        column = {"count": 2, "time": 4, "time2": 3}[sort]
        rows.sort(key=lambda r: (-r[column], r[1]))
    return rows


def format_sdiag(stats: dict, now: int, sort: str = "count") -> str:
    g = stats.get
    cycles = int(g("cycles", 0))
    since = int(g("since", 0))
    lines = [
        RULE,
        f"sdiag output at {_when(now)}",
        f"Data since      {_when(since)}",
        RULE,
        f"Server thread count:  {g('server_threads', 0)}",
        f"Agent queue size:     {g('outbox', 0)}",
        "Agent count:          0",
        "Agent thread count:   0",
        "DBD Agent queue size: 0",
        "",
        f"Jobs submitted: {g('jobs_submitted', 0)}",
        f"Jobs started:   {g('jobs_started', 0)}",
        f"Jobs completed: {g('jobs_completed', g('jobs_ended', 0))}",
        f"Jobs canceled:  {g('jobs_canceled', 0)}",
        f"Jobs failed:    {g('jobs_failed', 0)}",
        "",
        f"Job states ts:  {_when(now)}",
        f"Jobs pending:   {g('jobs_pending', 0)}",
        f"Jobs running:   {g('jobs_running', 0)}",
        "",
        "Main schedule statistics (microseconds):",
        f"\tLast cycle:   {_us(g('last_cycle_s'))}",
        f"\tMax cycle:    {_us(g('max_cycle_s'))}",
        f"\tTotal cycles: {cycles}",
    ]
    if cycles:   # sdiag prints the means only once there is something to average
        lines += [f"\tMean cycle:   {_us(g('mean_cycle_s'))}",
                  f"\tMean depth cycle:  {g('last_queue_length', 0)}",
                  f"\tCycles per minute: {_per_minute(cycles, since, now)}"]
    lines += [f"\tLast queue length: {g('last_queue_length', 0)}", ""]
    lines += _backfill_lines(g("backfill") or {})
    lines += [
        "",
        f"Latency for 1000 calls to gettimeofday(): {_clock_latency_us()} microseconds",
        "",
        "Remote Procedure Call statistics by message type",
    ]
    for name, number, count, average, total in rpc_rows(stats, sort):
        lines.append(f"\t{name:<40}({number:5d}) count:{count:<6d} ave_time:{average:<6d} "
                     f"total_time:{total}")
    lines += ["", "Remote Procedure Call statistics by user", "",
              "Pending RPC statistics", "\tNo pending RPCs"]
    return "\n".join(lines) + "\n"


def _backfill_lines(bf: dict) -> list[str]:
    """The backfill block: its pass is part of the one solve, so its times are the pass's.
    Our timeline has no fixed slot table: table sizes print 0."""
    cycles = int(bf.get("cycles", 0))
    jobs = int(bf.get("backfilled_jobs", 0))
    lines = [
        "Backfilling stats",
        f"\tTotal backfilled jobs (since last slurm start): {jobs}",
        f"\tTotal backfilled jobs (since last stats cycle start): {jobs}",
        "\tTotal backfilled heterogeneous job components: 0",
        f"\tTotal cycles: {cycles}",
        f"\tLast cycle when: {_when(int(bf['last_cycle_when'])) if cycles else 'N/A'}",
        f"\tLast cycle: {_us(bf.get('last_cycle_s'))}",
        f"\tMax cycle:  {_us(bf.get('max_cycle_s'))}",
    ]
    if cycles:
        lines.append(f"\tMean cycle: {_us(bf.get('total_cycle_s', 0) / cycles)}")
    lines += [f"\tLast depth cycle: {bf.get('last_depth', 0)}",
              f"\tLast depth cycle (try sched): {bf.get('last_depth', 0)}"]
    if cycles:
        depth_mean = int(bf.get("total_depth", 0)) // cycles
        lines += [f"\tDepth Mean: {depth_mean}", f"\tDepth Mean (try depth): {depth_mean}"]
    lines.append(f"\tLast queue length: {bf.get('last_queue_length', 0)}")
    if cycles:
        lines.append(f"\tQueue length mean: {int(bf.get('total_queue_length', 0)) // cycles}")
    lines.append("\tLast table size: 0")
    if cycles:
        lines.append("\tMean table size: 0")
    return lines


def _per_minute(cycles: int, since: int, now: int) -> int:
    if not since:
        return 0          # the controller did not say when counting began
    minutes = (now - since) // 60
    return cycles // minutes if minutes > 0 else cycles


def _clock_latency_us() -> int:
    clock = time.time
    start = time.perf_counter()
    for _ in range(1000):
        clock()
    return int((time.perf_counter() - start) * 1_000_000)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        pairs, operands = scan(argv, SHORT, LONGS)
    except ScanError as exc:
        sys.stderr.write(f"{PROG}: {exc.text}\nTry \"{PROG} --help\" for more information\n")
        return 1
    sort = "count"
    for key, _ in pairs:
        if key == "V":
            sys.stdout.write(VERSION + "\n")
            return 0
        if key in ("help", "usage"):
            sys.stdout.write(HELP)
            return 0
        if key == "r":
            # the controller keeps no resettable counters yet: say so, as Slurm does on failure
            sys.stderr.write(f"{PROG}: error: Operation not supported\n")
            return 1
        sort = {"i": "id", "t": "time", "T": "time2"}.get(key, sort)
    if operands:
        sys.stderr.write(f"{PROG}: error: Unknown argument: {operands[0]}\n")
        return 1
    from commands.ask import ask
    stats, reason = ask("stats")
    if stats is None:
        sys.stderr.write(f"slurm_get_statistics: {reason}\n")
        return 1
    from commands.output import write_stdout
    write_stdout(format_sdiag(stats, int(time.time()), sort))
    return 0


if __name__ == "__main__":
    sys.exit(main())
