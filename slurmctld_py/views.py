"""What the clients read: jobs, nodes and partitions as sdk.records wire maps."""
from __future__ import annotations

from conf.hostlist import compress_hostlist
from conf.units import format_memory_mb
from slurmctld_py.model import Job, Node


def job_info(job: Job, now: float) -> dict:
    spec = job.spec
    state = job.state.value
    start = job.start_time or (job.expected_start or 0)
    gres = spec.get("gres") or ""
    tres_per_node = ""
    if gres:
        tres_per_node = "gres/" + gres
    elif spec.get("gpus_per_node"):
        tres_per_node = "gres/gpu:" + spec["gpus_per_node"]
    gpus = list(job.run.allocations[0].gpus) if job.run is not None else []
    return {
        "job_id": job.job_id, "name": job.name, "user": job.user_name, "uid": job.uid, "gid": job.gid,
        "group": job.group_name, "partition": job.partition, "state": "COMPLETING" if job.completing and state != "CANCELLED" else state,
        "completing": job.completing,
        "reason": job.reason if not job.held else (job.hold_reason or "JobHeldUser"),
        "reason_detail": job.reason_detail, "account": job.account, "qos": job.qos,
        "priority": 0 if job.held else job.priority, "nice": job.nice,
        "submit_time": int(job.submit_time), "eligible_time": int(job.eligible_time or 0),
        "start_time": int(start), "end_time": int(job.end_time or 0),
        "time_limit_min": job.time_limit_min, "num_nodes": job.num_nodes,
        "max_nodes": int(spec.get("max_nodes") or 0), "num_cpus": job.num_cpus, "num_tasks": job.num_tasks,
        "cpus_per_task": int(spec.get("cpus_per_task") or 1),
        "ntasks_per_node": int(spec.get("ntasks_per_node") or 0),
        "mem_per_node_mb": spec.get("mem_per_node_mb"), "mem_per_cpu_mb": spec.get("mem_per_cpu_mb"),
        "tres_per_node": tres_per_node, "req_tres": job.req_tres, "alloc_tres": job.alloc_tres,
        "nodes": job.nodes, "batch_host": job.run.batch_host if job.run else (job.nodes.split(",")[0] if job.nodes and "[" not in job.nodes else ""),
        "req_nodes": spec.get("nodelist") or "", "exc_nodes": spec.get("exclude") or "",
        "features": spec.get("constraint") or "", "work_dir": job.work_dir,
        "command": spec.get("command") or "(null)",
        "stdout": job.stdout or spec.get("stdout") or "", "stderr": job.stderr or spec.get("stderr") or "",
        "stdin": spec.get("stdin") or "/dev/null", "exit_code": job.exit_code, "exit_signal": job.exit_signal,
        "derived_exit_code": job.derived_exit_code, "requeue": job.requeue, "restarts": job.restarts,
        "held": job.held, "dependency": job.dependency, "comment": job.comment,
        "exclusive": bool(spec.get("exclusive")), "gpus": gpus, "cancelled_by": job.cancelled_by,
        "submit_line": job.submit_line,
    }


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
        "arch": node.arch, "os": node.os, "sockets": 1, "cores_per_socket": node.cpus, "threads_per_core": 1,
        "version": "22.05.8",
    }


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
