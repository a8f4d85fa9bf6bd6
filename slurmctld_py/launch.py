"""What a started job's batch script gets: its output file names and its environment."""
from __future__ import annotations

import os

from conf.hostlist import compress_hostlist
from conf.jobtext import expand_file_pattern, per_node_counts
from slurmctld_py.model import Allocation, Job

NO_ARRAY_INDEX = 4294967294   # what %a and %s expand to outside arrays / for the batch step


def expand_output_pattern(pattern: str, job: Job, node: str, *, node_index: int = 0, task: int = 0) -> str:
    """sbatch's filename pattern (%j %J %A %a %x %u %N %n %t %s %b %% with optional zero padding);
    a pattern containing a backslash is taken literally (the backslashes removed)."""
    array_job = job.array_job_id or job.job_id
    index = NO_ARRAY_INDEX if job.array_task_id is None else job.array_task_id
    values = {
        "j": str(job.job_id), "J": f"{job.job_id}.batch", "A": str(array_job), "a": str(index),
        "b": str(index % 10), "x": job.name, "u": job.user_name, "N": node.split(".")[0],
        "n": str(node_index), "t": str(task), "s": str(NO_ARRAY_INDEX),
    }
    return expand_file_pattern(pattern, values)


def output_paths(job: Job, node: str) -> tuple[str, str, str]:
    """(stdout, stderr, stdin) absolute paths for the batch step on `node`."""
    spec = job.spec
    # observed: an array task's default is slurm-<array id>_<index>.out
    out_pat = spec.get("stdout") or ("slurm-%A_%a.out" if job.array_task_id is not None else "slurm-%j.out")
    err_pat = spec.get("stderr") or out_pat
    in_pat = spec.get("stdin") or "/dev/null"

    def resolve(pat: str) -> str:
        if pat == "none":
            return "/dev/null"
        path = expand_output_pattern(pat, job, node)
        return path if os.path.isabs(path) else os.path.join(job.work_dir, path)

    return resolve(out_pat), resolve(err_pat), resolve(in_pat)


def batch_environment(job: Job, allocations: list[Allocation], *, cluster_name: str, conf_path: str,
                      start_time: float, end_time: float | None) -> dict[str, str]:
    spec = job.spec
    env = {k: v for k, v in (spec.get("environment") or {}).items() if isinstance(v, str)}
    nodes = [a.node for a in allocations]
    nodelist = compress_hostlist(nodes)
    batch = allocations[0]
    ntasks = job.num_tasks
    tasks_per_node = [ntasks // len(nodes) + (1 if i < ntasks % len(nodes) else 0) for i in range(len(nodes))]
    if not spec.get("ntasks_set") and not spec.get("ntasks_per_node"):
        # no task count asked: as many tasks as the allocated CPUs hold (observed: --exclusive
        # gives SLURM_TASKS_PER_NODE=8 on an 8-CPU node, --cpus-per-gpu=2 with 2 GPUs gives 4)
        per_task = max(1, int(spec.get("cpus_per_task") or 1))
        tasks_per_node = [max(1, a.cpus // per_task) for a in allocations]
    slurm = {
        "SLURM_JOB_ID": str(job.job_id), "SLURM_JOBID": str(job.job_id),
        "SLURM_JOB_NAME": job.name, "SLURM_JOB_PARTITION": job.partition,
        "SLURM_JOB_NODELIST": nodelist, "SLURM_NODELIST": nodelist,
        "SLURM_JOB_NUM_NODES": str(len(nodes)), "SLURM_NNODES": str(len(nodes)),
        "SLURM_JOB_CPUS_PER_NODE": per_node_counts([a.cpus for a in allocations]),
        "SLURM_TASKS_PER_NODE": per_node_counts(tasks_per_node),
        "SLURM_CPUS_ON_NODE": str(batch.cpus),
        "SLURM_SUBMIT_DIR": spec.get("submit_dir") or job.work_dir,
        "SLURM_SUBMIT_HOST": spec.get("submit_host") or "localhost",
        "SLURM_CLUSTER_NAME": cluster_name,
        "SLURM_JOB_ACCOUNT": job.account or "", "SLURM_JOB_QOS": job.qos,
        "SLURM_JOB_USER": job.user_name, "SLURM_JOB_UID": str(job.uid),
        "SLURM_JOB_GID": str(job.gid),
        "SLURM_JOB_START_TIME": str(int(start_time)),
        "SLURM_JOB_END_TIME": str(int(end_time)) if end_time else "0",
        "SLURM_NODEID": "0", "SLURM_PROCID": "0", "SLURM_LOCALID": "0", "SLURM_GTIDS": "0",
        "SLURMD_NODENAME": batch.node, "SLURM_PRIO_PROCESS": "0",
        "SLURM_CONF": conf_path,
        "ENVIRONMENT": "BATCH", "HOSTNAME": batch.node,
        "SLURM_TOPOLOGY_ADDR": batch.node, "SLURM_TOPOLOGY_ADDR_PATTERN": "node",
    }
    if not job.account:
        del slurm["SLURM_JOB_ACCOUNT"]
    if (spec.get("export") or "ALL").upper() != "ALL":   # observed: not set for the default or ALL
        slurm["SLURM_EXPORT_ENV"] = spec["export"]
        slurm["SLURM_GET_USER_ENV"] = "1"
    if spec.get("open_mode"):
        slurm["SLURM_OPEN_MODE"] = spec["open_mode"][0]       # 'a' or 't'
    for key, variable in (("gpus_per_task", "SLURM_GPUS_PER_TASK"), ("cpus_per_gpu", "SLURM_CPUS_PER_GPU"),
                          ("mem_per_gpu_mb", "SLURM_MEM_PER_GPU")):
        if spec.get(key):
            slurm[variable] = str(spec[key])
    if "SLURM_JOB_NAME" in env or spec.get("submit_line", "").startswith("sbatch"):
        # sbatch exports SLURM_JOB_NAME itself, and not for a script read from stdin without a
        # name or with --export-file (observed): only other submitters get it from here
        del slurm["SLURM_JOB_NAME"]
    if spec.get("ntasks_set") or spec.get("ntasks_per_node"):
        slurm["SLURM_NTASKS"] = slurm["SLURM_NPROCS"] = str(ntasks)
    if spec.get("ntasks_per_node"):
        slurm["SLURM_NTASKS_PER_NODE"] = str(spec["ntasks_per_node"])
    if spec.get("cpus_per_task_set"):
        slurm["SLURM_CPUS_PER_TASK"] = str(spec.get("cpus_per_task", 1))
    if spec.get("mem_per_node_mb") is not None:
        slurm["SLURM_MEM_PER_NODE"] = str(spec["mem_per_node_mb"])
    if spec.get("mem_per_cpu_mb") is not None:
        slurm["SLURM_MEM_PER_CPU"] = str(spec["mem_per_cpu_mb"])
    from slurmctld_py.arrays import task_environment
    slurm.update(task_environment(job))
    if job.restarts:
        slurm["SLURM_RESTART_COUNT"] = str(job.restarts)
    if job.dependency:
        slurm["SLURM_JOB_DEPENDENCY"] = job.dependency
    if spec.get("gpus"):
        slurm["SLURM_GPUS"] = spec["gpus"]
    if spec.get("gpus_per_node"):
        slurm["SLURM_GPUS_PER_NODE"] = spec["gpus_per_node"]
    if batch.gpus:
        indices = ",".join(str(g) for g in batch.gpus)
        slurm.update({"SLURM_JOB_GPUS": indices, "CUDA_VISIBLE_DEVICES": indices,
                      "GPU_DEVICE_ORDINAL": indices, "ROCR_VISIBLE_DEVICES": indices,
                      "SLURM_GPUS_ON_NODE": str(len(batch.gpus))})
    env.update(slurm)
    return env


_SHOWN_CODES = "jxuAa"   # what scontrol fills in; %N %n %t %%, padded forms stay as written (observed)


def _mask_for_display(pattern: str) -> str:
    if "\\" in pattern:
        return pattern
    out, i = [], 0
    while i < len(pattern):
        if pattern[i] != "%":
            out.append(pattern[i])
            i += 1
            continue
        j = i + 1
        while j < len(pattern) and pattern[j].isdigit():
            j += 1
        token = pattern[i:j + 1]
        shown = j == i + 1 and j < len(pattern) and pattern[j] in _SHOWN_CODES
        out.append(token if shown else "\0" + token[1:])
        i = j + 1
    return "".join(out)


def shown_paths(job: Job) -> tuple[str, str, str]:
    """(StdOut, StdErr, StdIn) as scontrol shows them: absolute, with only the plain %j %x %u
    %A %a filled in."""
    from dataclasses import replace
    spec = dict(job.spec)
    for key in ("stdout", "stderr", "stdin"):
        if spec.get(key):
            spec[key] = _mask_for_display(spec[key])
    paths = output_paths(replace(job, spec=spec), "")
    return tuple(p.replace("\0", "%") for p in paths)  # type: ignore[return-value]
