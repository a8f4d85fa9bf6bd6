"""`--json` documents for squeue, sinfo and scontrol show, in the shapes Slurm 22.05 prints
(openapi/v0.0.38): `{"meta": ..., "errors": [], "jobs"|"nodes"|"partitions": [...]}`.

Pure functions from the controller's wire dicts (sdk/records.py) to plain dicts; `dumps` writes
them as Slurm does (2-space indent, `/` escaped as `\\/`). Key names, order and value types were
checked against the live Slurm here (`squeue --json`, `sinfo --json`; see
tests/commands/data/). Fields our controller does not track carry Slurm's "unset" values
(0, "", null, []); they are marked PLACEHOLDER below. sacct's document is in commands/jsonacct.py.
"""
from __future__ import annotations

import json

from conf.hostlist import compress_hostlist, expand_hostlist

SLURM_VERSION = {"major": 22, "micro": 8, "minor": 5}
SLURM_RELEASE = "22.05.8"
INFINITE = 4294967295        # how v0.0.38 writes an unlimited time or count (Slurm's INFINITE)
SHOW_FLAGS = ["SHOW_ALL", "SHOW_DETAIL", "SHOW_LOCAL"]


def meta(plugin_type: str = "openapi/v0.0.38", plugin_name: str = "Slurm OpenAPI v0.0.38") -> dict:
    return {"plugin": {"type": plugin_type, "name": plugin_name},
            "Slurm": {"version": dict(SLURM_VERSION), "release": SLURM_RELEASE}}


def document(key: str, items: list[dict], **meta_args) -> dict:
    """The response envelope; 22.05's CLI commands print no "warnings" list."""
    return {"meta": meta(**meta_args), "errors": [], key: items}


def dumps(doc: dict) -> str:
    # only string contents can hold "/", so escaping after encoding is safe
    return json.dumps(doc, indent=2).replace("/", "\\/") + "\n"


def _wait_status(code: int, signal: int) -> int:
    """squeue's exit_code is the raw wait(2) status: exit code in the high byte, signal low."""
    return ((code or 0) << 8) | (signal or 0)


def _none_if_zero(value):
    return value if value else None


def _gres_detail(j: dict) -> list[str]:
    gpus = j.get("gpus") or []
    if not gpus:
        return []
    ranges = compress_hostlist(f"x{i}" for i in sorted(gpus))   # 'x[0-1]' -> '0-1'
    idx = ranges[2:-1] if ranges.startswith("x[") else ranges[1:]
    return [f"gpu:{len(gpus)}(IDX:{idx})"]


def _job_resources(j: dict) -> dict:
    """PLACEHOLDER detail: cores spread evenly over the nodes, all on socket 0."""
    names = expand_hostlist(j["nodes"])
    per_node = max(1, j.get("num_cpus", 1) // max(1, len(names)))
    mem = j.get("mem_per_node_mb") or (j.get("mem_per_cpu_mb") or 0) * per_node
    return {
        "nodes": j["nodes"],
        "allocated_cores": j.get("num_cpus", 1),
        "allocated_hosts": len(names),
        "allocated_nodes": [
            {"sockets": {"0": {"cores": {str(c): "allocated" for c in range(per_node)}}},
             "nodename": name, "cpus_used": 0, "memory_used": 0, "memory_allocated": mem}
            for name in names],
    }


def _time_limit(minutes) -> int:
    return INFINITE if minutes is None else minutes


def job_json(j: dict, cluster: str = "") -> dict:
    """One job of `squeue --json` (also `scontrol --json show job`)."""
    running = bool(j.get("nodes"))
    cpus_per_task = j.get("cpus_per_task", 1)
    out = {
        "account": j.get("account", ""),
        "accrue_time": j.get("eligible_time", 0),
        "admin_comment": "",
        "array_job_id": j.get("array_job_id", 0),
        "array_task_id": j.get("array_task_id"),
        "array_max_tasks": j.get("array_max_tasks", 0),
        "array_task_string": j.get("array_task_str", ""),   # an array's pending indices ('1-9')
        "association_id": 0,                                  # PLACEHOLDER
        "batch_features": "",
        "batch_flag": True,
        "batch_host": j.get("batch_host", ""),
        "flags": [],                                          # PLACEHOLDER
        "burst_buffer": "",
        "burst_buffer_state": "",
        "cluster": cluster,
        "cluster_features": "",
        "command": j.get("command", ""),
        "comment": j.get("comment", ""),
        "container": "",
        "contiguous": False,
        "core_spec": None,
        "thread_spec": None,
        "cores_per_socket": None,
        "billable_tres": float(j.get("num_cpus", 1)) if running else None,
        "cpus_per_task": cpus_per_task if cpus_per_task and cpus_per_task > 1 else None,
        "cpu_frequency_minimum": None,
        "cpu_frequency_maximum": None,
        "cpu_frequency_governor": None,
        "cpus_per_tres": "",
        "deadline": 0,
        "delay_boot": 0,
        "dependency": j.get("dependency", ""),
        "derived_exit_code": _wait_status(j.get("derived_exit_code", 0),
                                          j.get("derived_exit_signal", 0)),
        "eligible_time": j.get("eligible_time", 0),
        "end_time": j.get("end_time", 0),
        "excluded_nodes": j.get("exc_nodes", ""),
        "exit_code": _wait_status(j.get("exit_code", 0), j.get("exit_signal", 0)),
        "features": j.get("features", ""),
        "federation_origin": "",
        "federation_siblings_active": "",
        "federation_siblings_viable": "",
        "gres_detail": _gres_detail(j),
        "group_id": j.get("gid", 0),
        "group_name": j.get("group", ""),
        "job_id": j["job_id"],
    }
    if running:
        out["job_resources"] = _job_resources(j)     # Slurm leaves the key out until allocated
    out.update({
        "job_state": j.get("state", "PENDING"),
        "last_sched_evaluation": j.get("eligible_time") or j.get("submit_time", 0),  # PLACEHOLDER
        "licenses": "",
        "max_cpus": 0,
        "max_nodes": j.get("max_nodes", 0),
        "mcs_label": "",
        "memory_per_tres": "",
        "name": j.get("name", ""),
        "nodes": j.get("nodes", ""),
        "nice": _none_if_zero(j.get("nice", 0)),           # 22.05 writes an unset nice as null
        "tasks_per_core": None,
        "tasks_per_node": j.get("ntasks_per_node", 0),
        "tasks_per_socket": None,
        "tasks_per_board": 0,
        "cpus": j.get("num_cpus", 1),
        "node_count": j.get("num_nodes", 1),
        "tasks": j.get("num_tasks", 1),
        "het_job_id": 0,
        "het_job_id_set": "",
        "het_job_offset": 0,
        "partition": j.get("partition", ""),
        "prefer": "",
        "memory_per_node": j.get("mem_per_node_mb"),
        "memory_per_cpu": j.get("mem_per_cpu_mb"),
        "minimum_cpus_per_node": max(1, cpus_per_task or 1) * max(1, j.get("ntasks_per_node", 0)),
        "minimum_tmp_disk_per_node": 0,
        "preempt_time": 0,
        "pre_sus_time": 0,
        "priority": j.get("priority", 0),
        "profile": None,
        "qos": j.get("qos", ""),
        "reboot": False,
        "required_nodes": j.get("req_nodes", ""),
        "requeue": j.get("requeue", True),
        "resize_time": 0,
        "restart_cnt": j.get("restarts", 0),
        "resv_name": "",
        "shared": None,
        "show_flags": list(SHOW_FLAGS),
        "sockets_per_board": 0,
        "sockets_per_node": None,
        "start_time": j.get("start_time", 0),
        "state_description": j.get("reason_detail", ""),
        "state_reason": j.get("reason") or "None",
        "standard_error": j.get("stderr", ""),
        "standard_input": j.get("stdin", "/dev/null"),
        "standard_output": j.get("stdout", ""),
        "submit_time": j.get("submit_time", 0),
        "suspend_time": j.get("suspend_time", 0),
        "system_comment": "",
        "time_limit": _time_limit(j.get("time_limit_min")),
        "time_minimum": 0,
        "threads_per_core": None,
        "tres_bind": "",
        "tres_freq": "",
        "tres_per_job": "",
        "tres_per_node": j.get("tres_per_node", ""),
        "tres_per_socket": "",
        "tres_per_task": "",
        "tres_req_str": j.get("req_tres", ""),
        "tres_alloc_str": j.get("alloc_tres", ""),
        "user_id": j.get("uid", 0),
        "user_name": j.get("user", ""),
        "wckey": "",
        "current_working_directory": j.get("work_dir", ""),
    })
    return out


def jobs_document(jobs: list[dict], cluster: str = "") -> dict:
    ordered = sorted(jobs, key=lambda j: (j["job_id"], j.get("array_task_id") or 0))
    return document("jobs", [job_json(j, cluster) for j in ordered])


# controller node state -> (v0.0.38 base state, state flags)
_NODE_BASE = {
    "IDLE": ("idle", []), "MIXED": ("mixed", []), "ALLOCATED": ("allocated", []),
    "COMPLETING": ("idle", ["COMPLETING"]), "DOWN": ("down", []), "DRAINED": ("idle", ["DRAIN"]),
    "DRAINING": ("mixed", ["DRAIN"]), "FAIL": ("down", ["FAIL"]),
    "FAILING": ("allocated", ["FAIL"]), "MAINT": ("idle", ["MAINT"]),
    "RESERVED": ("idle", ["RESERVED"]), "FUTURE": ("future", []), "UNKNOWN": ("unknown", []),
    "REBOOT": ("idle", ["REBOOT_REQUESTED"]), "POWERED_DOWN": ("idle", ["POWERED_DOWN"]),
    "POWERING_UP": ("idle", ["POWERING_UP"]),
}


def node_state(n: dict) -> tuple[str, list[str]]:
    base, flags = _NODE_BASE.get(n.get("state", "UNKNOWN"), (n.get("state", "unknown").lower(), []))
    flags = list(flags)
    if n.get("state") == "DRAINING" and n.get("cpus_alloc", 0) >= n.get("cpus", 0) > 0:
        base = "allocated"
    if not n.get("responding", True):
        flags.append("NOT_RESPONDING")
    return base, flags


def _node_tres(n: dict) -> str:
    text = f"cpu={n.get('cpus', 0)},mem={n.get('real_memory_mb', 0)}M,billing={n.get('cpus', 0)}"
    gres = n.get("gres") or ""
    if gres.startswith("gpu"):
        text += f",gres/gpu={gres.rsplit(':', 1)[-1]}"
    return text


def node_json(n: dict) -> dict:
    """One node of `sinfo --json` (also `scontrol --json show node`)."""
    base, flags = node_state(n)
    cpus, alloc = n.get("cpus", 0), n.get("cpus_alloc", 0)
    alloc_mem = n.get("alloc_memory_mb", 0)
    free = n.get("free_memory_mb")
    gres = n.get("gres") or ""
    return {
        "architecture": n.get("arch", ""),
        "burstbuffer_network_address": "",
        "boards": 1,
        "boot_time": n.get("boot_time", 0),
        "comment": "",
        "cores": n.get("cores_per_socket", 1),
        "cpu_binding": 0,
        "cpu_load": 0,                                        # PLACEHOLDER: not reported
        "extra": "",
        "free_memory": 0 if free is None else free,
        "cpus": cpus,
        "last_busy": n.get("last_busy_time", 0),
        "features": n.get("features", ""),
        "active_features": n.get("features", ""),
        "gres": gres,
        "gres_drained": "N/A",
        "gres_used": n.get("gres_used") or (gres.split(":", 1)[0] + ":0" if gres else ""),
        "mcs_label": "",
        "name": n["name"],
        "next_state_after_reboot": "invalid",
        "address": n.get("address") or n["name"],
        "hostname": n.get("hostname") or n["name"],
        "state": base,
        "state_flags": flags,
        "next_state_after_reboot_flags": [],
        "operating_system": n.get("os", ""),
        "owner": None,
        "partitions": list(n.get("partitions") or []),
        "port": 6818,                                         # PLACEHOLDER: slurmd's default port
        "real_memory": n.get("real_memory_mb", 0),
        "reason": n.get("reason", ""),
        "reason_changed_at": n.get("reason_time", 0) if n.get("reason") else 0,
        "reason_set_by_user": (n.get("reason_user") or None) if n.get("reason") else None,
        "slurmd_start_time": n.get("slurmd_start_time", 0),
        "sockets": n.get("sockets", 1),
        "threads": n.get("threads_per_core", 1),
        "temporary_disk": 0,
        "weight": n.get("weight", 1),
        "tres": _node_tres(n),
        "slurmd_version": n.get("version") or SLURM_RELEASE,
        "alloc_memory": alloc_mem,
        "alloc_cpus": alloc,
        "idle_cpus": max(0, cpus - alloc),
        "tres_used": f"cpu={alloc},mem={alloc_mem}M" if alloc else None,
        "tres_weighted": float(alloc),
    }


def nodes_document(nodes: list[dict]) -> dict:
    return document("nodes", [node_json(n) for n in nodes])


def partition_json(p: dict) -> dict:
    """One partition as slurmrestd v0.0.38 writes it (`scontrol --json show partition`; Slurm
    22.05's own scontrol has no --json, so the key set follows the v0.0.38 schema)."""
    flags = [name for name, on in (("default", p.get("is_default")), ("hidden", p.get("hidden")),
                                   ("root_only", p.get("root_only"))) if on]
    max_nodes = p.get("max_nodes")
    return {
        "flags": flags,
        "preemption_mode": ["disabled"],
        "allowed_allocation_nodes": "",
        "allowed_accounts": p.get("allow_accounts", "ALL"),
        "allowed_groups": p.get("allow_groups", "ALL"),
        "allowed_qos": p.get("allow_qos", "ALL"),
        "alternative": "",
        "billing_weights": "",
        "default_memory_per_cpu": p.get("def_mem_per_cpu_mb") or 0,
        "default_time_limit": _time_limit(p.get("default_time_min")),
        "denied_accounts": "",
        "denied_qos": "",
        "preemption_grace_time": 0,
        "maximum_cpus_per_node": INFINITE,
        "maximum_memory_per_node": 0,
        "maximum_nodes_per_job": INFINITE if max_nodes is None else max_nodes,
        "max_time_limit": _time_limit(p.get("max_time_min")),
        "min_nodes_per_job": p.get("min_nodes") or 1,
        "name": p["name"],
        "nodes": p.get("nodes", ""),
        "over_time_limit": 0,
        "priority_job_factor": p.get("priority_job_factor", 1),
        "priority_tier": p.get("priority_tier", 1),
        "qos": "",
        "state": p.get("state", "UP"),
        "total_cpus": p.get("total_cpus", 0),
        "total_nodes": p.get("total_nodes", 0),
        "tres": f"cpu={p.get('total_cpus', 0)},node={p.get('total_nodes', 0)}",
        "maximum_memory_per_cpu": p.get("max_mem_per_cpu_mb") or 0,
        "default_memory_per_node": 0,
    }


def partitions_document(partitions: list[dict]) -> dict:
    return document("partitions", [partition_json(p) for p in partitions])


def cluster_name() -> str:
    """ClusterName of the slurm.conf the commands talk to ('' when there is none)."""
    from sdk.discovery import find_conf, read_keys
    conf = find_conf()
    try:
        return read_keys(conf, ("ClusterName",)).get("ClusterName", "") if conf else ""
    except OSError:
        return ""
