"""Read-only accounting queries straight from the database: sacct when the controller is down.

    python -m accounting.reader --conf /etc/slurm/slurm.conf < request.json > records.msgpack

The request is the `accounting` RPC's argument map (JSON on stdin: job_ids, users, all_users,
start, end, states, names, partitions); the answer is `{"records": [{"job": ..., "steps": [...]}]}`
as msgpack on stdout (`--json` for people), in sdk.records' wire shape: the sdk falls back to this
process when the controller's socket does not answer, so it never imports this package.

The database is the one the controller uses: `DatabaseURL` from slurm.conf, else the SQLite file
in StateSaveLocation. The same visibility rule as the controller applies: a non-root caller sees
only their own jobs unless they ask for all users or name users. Jobs the database still holds as
active show their last committed state (nobody is left to update them).
Exit status: 0 with records, 1 with a one-line reason on stderr (bad request, unreachable database).
"""
from __future__ import annotations

import argparse
import json
import os
import pwd
import sys
from collections.abc import Mapping
from typing import Any

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounting.models import Job, Step
from conf.hostlist import HostlistError, expand_hostlist
from accounting.queries import _NAMED_STEP_RANK, _conditions, _in_partitions

__all__ = ["ReaderError", "database_url", "fetch_records", "job_record", "main", "read_records", "step_record"]

REQUEST_LIMIT = 16 * 1024 * 1024     # bytes of JSON on stdin
_LIST_KEYS = ("users", "states", "names", "partitions")


class ReaderError(Exception):
    """A request or database problem, with the one line sacct shows."""


def database_url(config: Any) -> str:
    """Where the controller of `config` (a conf.Config) keeps its state."""
    if config.database_url:
        return str(config.database_url)
    return "sqlite:///" + os.path.join(config.state_save_location, "slurm.db")


def _tres_per_node(spec: dict) -> str:
    if spec.get("gres"):
        return "gres/" + spec["gres"]
    if spec.get("gpus_per_node"):
        return "gres/gpu:" + spec["gpus_per_node"]
    return ""


def _int(value: float | None) -> int:
    return int(value or 0)


_STEP_COLUMNS = (Step.job_id, Step.attempt, Step.step_id, Step.name, Step.state, Step.exit_code,
                 Step.exit_signal, Step.start_time, Step.end_time, Step.nodes, Step.num_cpus, Step.num_tasks,
                 Step.alloc_tres, Step.max_rss_kb, Step.cpu_seconds)
_STEP_CHUNK = 1000


def _col(name: str, default: Any = None) -> tuple[tuple[str, ...], Any]:
    if default is None:
        return (name,), lambda r, spec: r[name]
    return (name,), lambda r, spec: r[name] or default


def _spec(key: str, default: Any = "") -> tuple[tuple[str, ...], Any]:
    return ("spec",), lambda r, spec: spec.get(key) or default


def _batch_host(r: Mapping[str, Any], spec: dict) -> str:
    nodes = r["nodes"] or ""
    return nodes.split(",")[0] if nodes and "[" not in nodes else ""


# wire key (sdk.records.JobInfo) -> (the `jobs` columns it reads, getter(row, spec)). A caller that
# names the keys it reads gets only those, and only their columns are selected: 100,000 full
# records cost seconds of Python and ~90 MB; sacct's default columns a fraction of both.
JOB_FIELDS: dict[str, tuple[tuple[str, ...], Any]] = {
    "job_id": _col("job_id"), "name": _col("name"), "user": (("user_name",), lambda r, spec: r["user_name"]),
    "uid": _col("uid"), "gid": _col("gid"), "group": (("group_name",), lambda r, spec: r["group_name"]),
    "partition": _col("partition"), "state": _col("state"),
    "reason": (("held", "hold_reason", "reason"),
               lambda r, spec: (r["hold_reason"] or "JobHeldUser") if r["held"] else (r["reason"] or "None")),
    "account": _col("account", ""), "qos": _col("qos", ""),
    "priority": (("held", "priority"), lambda r, spec: 0 if r["held"] else r["priority"] or 0),
    "nice": _col("nice", 0),
    "submit_time": (("submit_time",), lambda r, spec: _int(r["submit_time"])),
    "eligible_time": (("eligible_time",), lambda r, spec: _int(r["eligible_time"])),
    "start_time": (("start_time",), lambda r, spec: _int(r["start_time"])),
    "end_time": (("end_time",), lambda r, spec: _int(r["end_time"])),
    "time_limit_min": _col("time_limit_min"), "num_nodes": _col("num_nodes", 1),
    "max_nodes": (("spec",), lambda r, spec: int(spec.get("max_nodes") or 0)),
    "num_cpus": _col("num_cpus", 1), "num_tasks": _col("num_tasks", 1),
    "cpus_per_task": (("spec",), lambda r, spec: int(spec.get("cpus_per_task") or 1)),
    "ntasks_per_node": (("spec",), lambda r, spec: int(spec.get("ntasks_per_node") or 0)),
    "mem_per_node_mb": (("spec",), lambda r, spec: spec.get("mem_per_node_mb")),
    "mem_per_cpu_mb": (("spec",), lambda r, spec: spec.get("mem_per_cpu_mb")),
    "tres_per_node": (("spec",), lambda r, spec: _tres_per_node(spec)),
    "req_tres": _col("req_tres", ""), "alloc_tres": _col("alloc_tres", ""), "nodes": _col("nodes", ""),
    "batch_host": (("nodes",), _batch_host), "req_nodes": _spec("nodelist"), "exc_nodes": _spec("exclude"),
    "features": _spec("constraint"), "work_dir": _col("work_dir", ""), "command": _spec("command", "(null)"),
    "stdout": (("stdout", "spec"), lambda r, spec: r["stdout"] or spec.get("stdout") or ""),
    "stderr": (("stderr", "spec"), lambda r, spec: r["stderr"] or spec.get("stderr") or ""),
    "stdin": _spec("stdin", "/dev/null"), "exit_code": _col("exit_code", 0), "exit_signal": _col("exit_signal", 0),
    "derived_exit_code": _col("derived_exit_code", 0),
    "requeue": (("requeue",), lambda r, spec: bool(r["requeue"])), "restarts": _col("restarts", 0),
    "held": (("held",), lambda r, spec: bool(r["held"])), "dependency": _col("dependency", ""),
    "comment": _col("comment", ""), "exclusive": (("spec",), lambda r, spec: bool(spec.get("exclusive"))),
    "cancelled_by": _col("cancelled_by"), "submit_line": _col("submit_line", ""),
    "array_job_id": _col("array_job_id", 0), "array_task_id": _col("array_task_id"),
}


def _job_columns(keys: list[str]) -> list[Any]:
    names = dict.fromkeys(("job_id", "partition"))     # the order, and what the filters read
    for key in keys:
        names.update(dict.fromkeys(JOB_FIELDS[key][0]))
    return [getattr(Job, name) for name in names]


def job_record(row: Mapping[str, Any], keys: list[str] | None = None) -> dict:
    """One `jobs` row (a mapping of column names) as an sdk.records.JobInfo wire map, or just its
    `keys`: what the controller sends for a job it no longer holds."""
    spec = (row.get("spec") or {}) if "spec" in row else {}
    return {key: JOB_FIELDS[key][1](row, spec) for key in (keys or JOB_FIELDS)}


def _node_count(nodes: str | None) -> int:
    """NNodes of a step from its node list (srun steps span several nodes)."""
    if not nodes:
        return 1
    try:
        return max(1, len(expand_hostlist(nodes)))
    except HostlistError:
        return 1


def step_record(step: Mapping[str, Any]) -> dict:
    """One `steps` row (a mapping of the _STEP_COLUMNS names) as an sdk.records.StepRecord wire map."""
    return {"step_id": step["step_id"], "name": step["name"] or step["step_id"], "state": step["state"],
            "exit_code": step["exit_code"] or 0, "exit_signal": step["exit_signal"] or 0,
            "start_time": _int(step["start_time"]), "end_time": _int(step["end_time"]),
            "nodes": step["nodes"] or "", "num_nodes": _node_count(step["nodes"]), "num_cpus": step["num_cpus"] or 1,
            "num_tasks": step["num_tasks"] or 1, "alloc_tres": step["alloc_tres"] or "",
            "max_rss_kb": step["max_rss_kb"], "total_cpu_s": step["cpu_seconds"]}


def fetch_records(session: Session, *, job_ids: list[int] | None = None, users: list[str] | None = None,
                  start: float | None = None, end: float | None = None, states: list[str] | None = None,
                  names: list[str] | None = None, partitions: list[str] | None = None,
                  fields: list[str] | None = None) -> list[dict]:
    """accounting.queries.query_accounting's selection (same filters, same window), as wire maps
    `{"job": ..., "steps": [...]}` ordered by job id, steps in sacct's order. `fields` names the
    job keys the caller reads (sacct sends those of its format): the others are left out, which
    keeps 100,000 records a few MB instead of ~90."""
    keys = [k for k in dict.fromkeys(fields) if k in JOB_FIELDS] if fields else list(JOB_FIELDS)
    if "job_id" not in keys:
        keys.insert(0, "job_id")
    columns = _job_columns(keys)
    column_names = [c.key for c in columns]
    conditions = _conditions(job_ids, users, start, end, states, names, partitions)
    # Core, not ORM, and tuples zipped with the column names: ~10x less Python per row
    connection = session.connection()
    jobs = [dict(zip(column_names, row))
            for row in connection.execute(select(*columns).where(*conditions).order_by(Job.job_id))]
    if partitions is not None:
        jobs = [job for job in jobs if _in_partitions(job["partition"], partitions)]
    step_keys = [c.key for c in _STEP_COLUMNS]
    steps_by_job: dict[int, list[dict]] = defaultdict(list)
    found = [job["job_id"] for job in jobs]
    for first in range(0, len(found), _STEP_CHUNK):
        chunk = found[first : first + _STEP_CHUNK]
        for row in connection.execute(select(*_STEP_COLUMNS).where(Step.job_id.in_(chunk))):
            step = dict(zip(step_keys, row))
            steps_by_job[step["job_id"]].append(step)
    return [{"job": job_record(job, keys),
             "steps": [step_record(st) for st in sorted(steps_by_job.get(job["job_id"], ()), key=_step_order)]}
            for job in jobs]


def _step_order(step: Mapping[str, Any]) -> tuple[int, int, int, str]:
    """accounting.queries.step_sort_key for a step mapping."""
    rank = _NAMED_STEP_RANK.get(step["step_id"])
    if rank is not None:
        return (step["attempt"], rank, 0, "")
    if step["step_id"].isdigit():
        return (step["attempt"], 3, int(step["step_id"]), "")
    return (step["attempt"], 4, 0, step["step_id"])


def _check_request(args: Any, uid: int) -> dict:
    if not isinstance(args, dict):
        raise ReaderError("malformed request")
    ids = args.get("job_ids")
    if ids is not None and (not isinstance(ids, list) or not all(type(i) is int for i in ids)):
        raise ReaderError("malformed request: job_ids")
    checked: dict[str, Any] = {"job_ids": ids}
    for key in (*_LIST_KEYS, "fields"):
        value = args.get(key)
        if value is not None and (not isinstance(value, list) or not all(isinstance(x, str) for x in value)):
            raise ReaderError(f"malformed request: {key}")
        checked[key] = value
    for key in ("start", "end"):
        value = args.get(key)
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool)):
            raise ReaderError(f"malformed request: {key}")
        checked[key] = value
    if checked["end"] is not None:
        checked["end"] = int(checked["end"]) + 0.999999   # -E T takes all of second T, as the controller does
    if uid != 0 and not args.get("all_users") and not checked["users"]:
        try:
            checked["users"] = [pwd.getpwuid(uid).pw_name]
        except KeyError:
            checked["users"] = [str(uid)]
    return checked


def read_records(url: str, args: dict, *, uid: int) -> list[dict]:
    """The records an `accounting` request asks for, read in one read-only transaction."""
    from sqlalchemy.exc import SQLAlchemyError

    from accounting.db import make_engine, session_factory

    request = _check_request(args, uid)
    # a reader must not take SQLite's write lock (the controller may be starting up again)
    engine = make_engine(url, sqlite_begin="DEFERRED") if url.startswith("sqlite") else make_engine(url)
    try:
        with session_factory(engine)() as session, session.begin():
            return fetch_records(session, **request)
    except SQLAlchemyError as exc:
        raise ReaderError(str(getattr(exc, "orig", None) or exc).splitlines()[0]) from None
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m accounting.reader",
                                     description="read accounting records from the database (read-only)")
    parser.add_argument("--conf", default=os.environ.get("SLURM_CONF", "/etc/slurm/slurm.conf"))
    parser.add_argument("--json", action="store_true", help="print JSON instead of msgpack")
    options = parser.parse_args(argv)
    try:
        from conf.errors import ConfigError
        from conf.slurmconf import load_config
        try:
            config = load_config(options.conf)
        except (ConfigError, OSError) as exc:
            raise ReaderError(f"cannot read {options.conf}: {exc}") from None
        text = sys.stdin.buffer.read(REQUEST_LIMIT + 1)
        if len(text) > REQUEST_LIMIT:
            raise ReaderError("request too large")
        try:
            args = json.loads(text or b"{}")
        except ValueError:
            raise ReaderError("malformed request") from None
        records = read_records(database_url(config), args, uid=os.getuid())
    except ReaderError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    result = {"records": records}
    if options.json:
        sys.stdout.write(json.dumps(result, indent=1) + "\n")
    else:
        import msgpack
        sys.stdout.buffer.write(msgpack.packb(result, use_bin_type=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
