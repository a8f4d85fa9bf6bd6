"""`sacct --json`: accounting records (AcctRecord wire dicts) in the shape Slurm 22.05 prints
(openapi/dbv0.0.38): `{"meta": ..., "errors": [], "jobs": [{..., "steps": [...]}]}`.

Key names, nesting and types follow a capture of the live `sacct --json -j N` here
(tests/commands/data/slurm_sacct_json.json). Values our accounting does not keep (energy, user vs
system CPU split, wckeys, reservations) carry Slurm's unset values and are marked PLACEHOLDER.
"""
from __future__ import annotations

from commands.jsonview import INFINITE, document

# TRES type -> Slurm's fixed TRES ids (gres/* get ids from 1001 in the order the database
# first saw them: PLACEHOLDER, gpu is the only gres we track)
_TRES_IDS = {"cpu": 1, "mem": 2, "energy": 3, "node": 4, "billing": 5, "fs/disk": 6,
             "vmem": 7, "pages": 8, "gres/gpu": 1001}
_MEM_FACTOR = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}


def tres_list(text: str) -> list[dict]:
    """'cpu=2,mem=1000M,node=1,gres/gpu=2' -> [{"type", "name", "id", "count"}, ...]."""
    out = []
    for item in filter(None, (text or "").split(",")):
        key, _, value = item.partition("=")
        if value[-1:] in _MEM_FACTOR:
            count = int(float(value[:-1]) * _MEM_FACTOR[value[-1]])
        else:
            count = int(float(value)) if value else 0
        kind, _, name = key.partition("/")
        out.append({"type": kind, "name": name or None, "id": _TRES_IDS.get(key, 0),
                    "count": count})
    return out


def exit_code_json(code: int, signal: int) -> dict:
    if signal:
        import signal as signals
        try:
            name = signals.Signals(signal).name
            description = signals.strsignal(signal) or name
        except ValueError:
            description = f"Signal {signal}"
        return {"status": "SIGNALED", "return_code": None,
                "signal": {"signal_id": signal, "name": description}}
    if code:
        return {"status": "FAILED", "return_code": code}
    return {"status": "SUCCESS", "return_code": 0}


def _cpu_time(seconds) -> dict:
    total = float(seconds or 0)
    whole = int(total)
    return {"seconds": whole, "microseconds": int(round((total - whole) * 1_000_000))}


def _elapsed(start: int, end: int, now: int) -> int:
    if not start:
        return 0
    return max(0, (end or now) - start)


_ENERGY = [{"type": "energy", "name": None, "id": 3, "count": 0}]   # PLACEHOLDER: not measured


def step_json(s: dict, job: dict, now: int) -> dict:
    nodes = s.get("nodes") or ""
    from conf.hostlist import expand_hostlist
    names = expand_hostlist(nodes) if nodes else []
    usage = {"max": [], "min": [], "average": list(_ENERGY), "total": list(_ENERGY)}
    return {
        "nodes": {"list": names, "count": s.get("num_nodes", len(names)), "range": nodes},
        "tres": {"requested": dict(usage), "consumed": dict(usage),
                 "allocated": tres_list(s.get("alloc_tres", ""))},
        "time": {"elapsed": _elapsed(s.get("start_time", 0), s.get("end_time", 0), now),
                 "end": s.get("end_time", 0), "start": s.get("start_time", 0), "suspended": 0,
                 "system": _cpu_time(0), "total": _cpu_time(s.get("total_cpu_s")),
                 "user": _cpu_time(s.get("total_cpu_s"))},    # PLACEHOLDER: no user/sys split
        "exit_code": exit_code_json(s.get("exit_code", 0), s.get("exit_signal", 0)),
        "tasks": {"count": s.get("num_tasks", 1)},
        "pid": None,
        "CPU": {"requested_frequency": {"min": 0, "max": 0}, "governor": []},
        "kill_request_user": None,
        "state": s.get("state", ""),
        "statistics": {"CPU": {"actual_frequency": 0}, "energy": {"consumed": 0}},
        "step": {"job_id": job["job_id"], "het": {"component": None}, "id": s.get("step_id", ""),
                 "name": s.get("name", "")},
        "task": {"distribution": "Unknown"},
    }


def _state_current(j: dict) -> str:
    return j.get("state", "PENDING")


def acct_job_json(rec: dict, cluster: str = "", now: int = 0) -> dict:
    """One job of `sacct --json` with its steps."""
    j = rec["job"]
    steps = rec.get("steps") or []
    start, end = j.get("start_time", 0), j.get("end_time", 0)
    running = j.get("state") in ("RUNNING", "SUSPENDED", "COMPLETING")
    total_cpu = sum(float(s.get("total_cpu_s") or 0) for s in steps)
    limit = j.get("time_limit_min")
    canceller = j.get("cancelled_by")
    return {
        "account": j.get("account", ""),
        "comment": {"administrator": None, "job": j.get("comment") or None, "system": None},
        "allocation_nodes": j.get("num_nodes", 1),
        "array": {"job_id": j.get("array_job_id", 0),
                  "limits": {"max": {"running": {"tasks": 0}}},
                  "task": None if j.get("array_task_id") is None else str(j["array_task_id"]),
                  "task_id": j.get("array_task_id")},
        "association": {"account": j.get("account", ""), "cluster": cluster,
                        "partition": None, "user": j.get("user", "")},
        "cluster": cluster,
        "constraints": j.get("features", ""),
        "container": None,
        "derived_exit_code": exit_code_json(j.get("derived_exit_code", 0),
                                            j.get("derived_exit_signal", 0)),
        "time": {"elapsed": _elapsed(start, 0 if running else end, now),
                 "eligible": j.get("eligible_time", 0), "end": 0 if running else end,
                 "start": start, "submission": j.get("submit_time", 0),
                 "suspended": 0, "system": _cpu_time(0),
                 "limit": INFINITE if limit is None else limit,
                 "total": _cpu_time(total_cpu), "user": _cpu_time(total_cpu)},
        "exit_code": exit_code_json(j.get("exit_code", 0), j.get("exit_signal", 0)),
        "flags": [],                                              # PLACEHOLDER
        "group": j.get("group", ""),
        "het": {"job_id": 0, "job_offset": None},
        "job_id": j["job_id"],
        "name": j.get("name", ""),
        "mcs": {"label": ""},
        "nodes": j.get("nodes") or "None assigned",
        "partition": j.get("partition", ""),
        "priority": j.get("priority", 0),
        "qos": j.get("qos", ""),
        "required": {"CPUs": j.get("num_cpus", 1),
                     "memory": j.get("mem_per_node_mb") or j.get("mem_per_cpu_mb") or 0},
        "kill_request_user": _user_name(canceller) if canceller is not None else None,
        "reservation": {"id": 0, "name": 0},
        "state": {"current": _state_current(j), "reason": j.get("reason") or "None"},
        "steps": [step_json(s, j, now) for s in steps],
        "tres": {"allocated": tres_list(j.get("alloc_tres", "")),
                 "requested": tres_list(j.get("req_tres", ""))},
        "user": j.get("user", ""),
        "wckey": {"wckey": "", "flags": []},
        "working_directory": j.get("work_dir", ""),
    }


def _user_name(uid: int) -> str:
    import pwd
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def acct_document(records: list[dict], cluster: str = "", now: int = 0) -> dict:
    return document("jobs", [acct_job_json(r, cluster, now) for r in records],
                    plugin_type="openapi/dbv0.0.38", plugin_name="Slurm OpenAPI DB v0.0.38")
