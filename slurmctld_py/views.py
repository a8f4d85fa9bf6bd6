"""What the clients read: jobs, nodes and partitions as sdk.records wire maps."""
from __future__ import annotations

from operator import attrgetter

from conf.hostlist import compress_hostlist
from conf.units import format_memory_mb
from slurmctld_py.launch import shown_paths
from slurmctld_py.model import Job, Node


def _tres_per_node(job: Job) -> str:
    spec = job.spec
    if spec.get("gres"):
        return "gres/" + spec["gres"]
    if spec.get("gpus_per_node"):
        return "gres/gpu:" + spec["gpus_per_node"]
    return ""


def _batch_host(job: Job) -> str:
    if job.run is not None:
        return job.run.batch_host
    if not job.nodes:
        return ""
    from conf.hostlist import expand_hostlist
    return expand_hostlist(job.nodes)[0]   # the first node of a finished job ran its script


def _spec(key: str, default=None):
    return lambda j: j.spec.get(key) or default


# wire key -> getter: a client that names the fields it reads (squeue) gets only those
JOB_FIELDS: dict = {
    "job_id": attrgetter("job_id"), "name": attrgetter("name"), "user": attrgetter("user_name"),
    "uid": attrgetter("uid"), "gid": attrgetter("gid"), "group": attrgetter("group_name"),
    "partition": attrgetter("partition"),
    "state": lambda j: "COMPLETING" if j.completing and j.state.value != "CANCELLED" else j.state.value,
    "completing": attrgetter("completing"),
    "reason": lambda j: (j.hold_reason or "JobHeldUser") if j.held else j.reason,
    "reason_detail": attrgetter("reason_detail"), "account": attrgetter("account"), "qos": attrgetter("qos"),
    "priority": lambda j: 0 if j.held else (j.spec["priority"] if j.spec.get("priority") is not None
                                            else j.priority), "nice": attrgetter("nice"),
    "submit_time": lambda j: int(j.submit_time),
    # not eligible yet while a dependency is unresolved (scontrol shows EligibleTime=Unknown)
    "eligible_time": lambda j: (0 if j.state.value == "PENDING" and j.dependency_state not in ("", "done")
                                else int(j.eligible_time or 0)),
    "start_time": lambda j: int(j.start_time or j.expected_start or 0),
    "end_time": lambda j: int(j.end_time or 0), "time_limit_min": attrgetter("time_limit_min"),
    "num_nodes": attrgetter("num_nodes"), "max_nodes": lambda j: int(j.spec.get("max_nodes") or 0),
    "num_cpus": attrgetter("num_cpus"), "num_tasks": attrgetter("num_tasks"),
    "cpus_per_task": lambda j: int(j.spec.get("cpus_per_task") or 1),
    "ntasks_per_node": lambda j: int(j.spec.get("ntasks_per_node") or 0),
    "mem_per_node_mb": lambda j: j.spec.get("mem_per_node_mb"),
    "mem_per_cpu_mb": lambda j: j.spec.get("mem_per_cpu_mb"),
    "tres_per_node": _tres_per_node, "req_tres": attrgetter("req_tres"), "alloc_tres": attrgetter("alloc_tres"),
    "nodes": attrgetter("nodes"), "sched_nodes": attrgetter("expected_nodes"), "batch_host": _batch_host,
    "req_nodes": _spec("nodelist", ""), "exc_nodes": _spec("exclude", ""), "features": _spec("constraint", ""),
    "work_dir": attrgetter("work_dir"), "command": _spec("command", "(null)"),
    "stdout": lambda j: shown_paths(j)[0], "stderr": lambda j: shown_paths(j)[1],
    "stdin": lambda j: shown_paths(j)[2],
    "exit_code": attrgetter("exit_code"), "exit_signal": attrgetter("exit_signal"),
    "derived_exit_code": attrgetter("derived_exit_code"), "requeue": attrgetter("requeue"),
    "restarts": attrgetter("restarts"), "held": attrgetter("held"), "dependency": attrgetter("dependency_shown"),
    "comment": attrgetter("comment"), "exclusive": lambda j: bool(j.spec.get("exclusive")),
    "gpus": lambda j: list(j.run.allocations[0].gpus) if j.run is not None else [],
    "cancelled_by": attrgetter("cancelled_by"), "submit_line": attrgetter("submit_line"),
    "array_job_id": attrgetter("array_job_id"), "array_task_id": attrgetter("array_task_id"),
    "array_task_str": attrgetter("array_task_str"), "array_max_tasks": attrgetter("array_max_tasks"),
    "deadline": lambda j: int(j.spec.get("deadline") or 0),
    "time_min_min": lambda j: j.spec.get("time_min") or None,
    "mail_type": _spec("mail_type", ""),
    "mail_user": lambda j: (j.spec.get("mail_user") or j.user_name) if j.spec.get("mail_type") else "",
    "wckey": _spec("wckey", ""), "reservation": _spec("reservation", ""),
    "tres_per_job": lambda j: "gres:gpu:" + j.spec["gpus"] if j.spec.get("gpus") else "",
    "tres_per_task": lambda j: "gres:gpu:" + j.spec["gpus_per_task"] if j.spec.get("gpus_per_task") else "",
    "cpus_per_tres": lambda j: f"gres:gpu:{j.spec['cpus_per_gpu']}" if j.spec.get("cpus_per_gpu") else "",
    "mem_per_tres": lambda j: (f"gres:gpu:{j.spec['mem_per_gpu_mb']}"
                               if j.spec.get("mem_per_gpu_mb") is not None else ""),
}


def job_info(job: Job, now: float) -> dict:
    return {key: get(job) for key, get in JOB_FIELDS.items()}


def job_columns(jobs: list[Job], fields: list[str]) -> dict:
    """The requested fields of many jobs as {"columns": [...], "rows": [[...], ...]}: the keys
    travel once instead of once per job."""
    columns = [f for f in dict.fromkeys(["job_id", *fields]) if f in JOB_FIELDS]
    getters = [JOB_FIELDS[f] for f in columns]
    return {"columns": columns, "rows": [[get(j) for get in getters] for j in jobs]}


def node_info(ctl, node: Node, now: float) -> dict:
    allocs = [a for r in node.runs.values() for a in r.allocations if a.node == node.name]
    cpus_alloc = sum(a.cpus for a in allocs)
    mem_alloc = sum(a.memory_mb for a in allocs)
    gpus_used = sorted(g for a in allocs for g in a.gpus)
    if node.admin_state == "DOWN" or not node.registered:
        state = "DOWN" if node.registered or node.admin_state == "DOWN" else "UNKNOWN"
    elif node.admin_state == "DRAIN":
        state = "DRAINING" if allocs else "DRAINED"
    elif cpus_alloc >= node.cpus:
        state = "ALLOCATED"
    elif cpus_alloc:
        state = "MIXED"
    else:
        state = "IDLE"
    if any(r.state == "ended" for r in node.runs.values()):
        state += "+COMPLETING"
    gres, gres_used = "", ""
    if node.gpu_types:
        types = sorted(set(node.gpu_types))
        gres = ",".join(f"gpu:{t}:{node.gpu_types.count(t)}" if t else f"gpu:{node.gpu_types.count(t)}" for t in types)
        idx = compress_hostlist(f"g{g}" for g in gpus_used)[1:].strip("[]") if gpus_used else "N/A"
        gres_used = f"gpu:{len(gpus_used)}(IDX:{idx})"
    return {
        "name": node.name, "state": state, "cpus": node.cpus, "cpus_alloc": cpus_alloc,
        "real_memory_mb": node.memory_mb, "alloc_memory_mb": mem_alloc,
        "free_memory_mb": None, "gres": gres, "gres_used": gres_used, "partitions": list(node.partitions),
        "reason": node.reason, "reason_user": "root" if node.reason else "", "reason_time": int(node.reason_time),
        "features": ",".join(node.features), "weight": node.weight, "boot_time": int(node.boot_time),
        "slurmd_start_time": int(node.agent_start_time), "responding": node.responding,
        "address": node.hostname or node.name, "hostname": node.hostname or node.name,
        "arch": node.arch, "os": node.os, **_topology(ctl, node), "last_busy_time": int(node.last_busy_time),
        "version": "22.05.8",
    }


def _topology(ctl, node) -> dict:
    """Sockets/cores/threads as slurm.conf gives them (a bare CPUs=8 is 8 sockets of 1 core)."""
    try:
        conf = ctl.config.node(node.name)
    except KeyError:
        return {"sockets": node.cpus, "cores_per_socket": 1, "threads_per_core": 1}
    return {"sockets": conf.sockets, "cores_per_socket": conf.cores_per_socket,
            "threads_per_core": conf.threads_per_core}


def partition_info(ctl, part) -> dict:
    nodes = [ctl.nodes[n] for n in part.nodes if n in ctl.nodes]
    return {
        "name": part.name, "nodes": compress_hostlist(part.nodes), "state": ctl.partition_state.get(part.name, part.state),
        "is_default": part.is_default,
        "max_time_min": None if part.max_time is None else int(part.max_time // 60),
        "default_time_min": None if part.default_time is None else int(part.default_time // 60),
        "max_nodes": part.max_nodes, "min_nodes": part.min_nodes or 0, "total_nodes": len(nodes),
        "total_cpus": sum(n.cpus for n in nodes), "priority_tier": part.priority_tier,
        "priority_job_factor": part.priority_job_factor, "hidden": part.hidden, "root_only": part.root_only,
        "oversubscribe": part.oversubscribe, "allow_groups": part.allow_groups,
        "allow_accounts": part.allow_accounts, "allow_qos": part.allow_qos,
        "def_mem_per_cpu_mb": part.def_mem_per_cpu, "max_mem_per_cpu_mb": part.max_mem_per_cpu,
    }


def config_info(ctl) -> dict:
    c = ctl.config
    info = dict(c.raw)
    info.update({
        "ClusterName": c.cluster_name, "MinJobAge": c.min_job_age, "KillWait": c.kill_wait,
        "SlurmctldHost": c.control_hosts[0] if c.control_hosts else "localhost",
        "SlurmctldPort": c.slurmctld_port, "SlurmdTimeout": c.slurmd_timeout,
        "FirstJobId": c.first_job_id, "MaxJobCount": c.max_job_count, "MaxArraySize": c.max_array_size,
        "SLURM_VERSION": "22.05.8", "DefMemPerCPU": c.def_mem_per_cpu,
    })
    return {k: v for k, v in info.items() if isinstance(v, (str, int, float, bool)) or v is None}


def mem_text(mb: int) -> str:
    return format_memory_mb(mb)
