"""How Slurm 22.05 prints durations, timestamps, memory and states, command by command.

Kept free of heavy imports (only `time`): squeue imports this on every call. Rules were checked
against the live Slurm 22.05 on this machine (squeue -o %M/%l/%L, sinfo, scontrol show job,
sacct -o Elapsed,Timelimit,TotalCPU,AllocTRES); the tests under tests/commands quote those runs.
"""
from __future__ import annotations

import time

# ---- job states ---------------------------------------------------------------------------

JOB_STATE_COMPACT = {
    "PENDING": "PD", "RUNNING": "R", "SUSPENDED": "S", "COMPLETED": "CD", "CANCELLED": "CA",
    "FAILED": "F", "TIMEOUT": "TO", "NODE_FAIL": "NF", "PREEMPTED": "PR", "BOOT_FAIL": "BF",
    "DEADLINE": "DL", "OUT_OF_MEMORY": "OOM", "COMPLETING": "CG", "STAGE_OUT": "SO",
    "CONFIGURING": "CF", "RESIZING": "RS", "REQUEUED": "RQ", "REQUEUE_FED": "RF",
    "REQUEUE_HOLD": "RH", "SPECIAL_EXIT": "SE", "STOPPED": "ST", "REVOKED": "RV",
    "RESV_DEL_HOLD": "RD", "SIGNALING": "SI",
}
JOB_STATE_LONG = {v: k for k, v in JOB_STATE_COMPACT.items()}

# The order squeue lists them in its "Valid job states include:" message (squeue -t bogus).
VALID_JOB_STATES = ("PENDING,RUNNING,SUSPENDED,COMPLETED,CANCELLED,FAILED,TIMEOUT,NODE_FAIL,"
                    "PREEMPTED,BOOT_FAIL,DEADLINE,OUT_OF_MEMORY,COMPLETING,CONFIGURING,RESIZING,"
                    "RESV_DEL_HOLD,REQUEUED,REQUEUE_FED,REQUEUE_HOLD,REVOKED,SIGNALING,"
                    "SPECIAL_EXIT,STAGE_OUT,STOPPED")

# What squeue shows without -t: jobs that still hold or wait for resources.
ACTIVE_JOB_STATES = frozenset(("PENDING", "RUNNING", "SUSPENDED", "COMPLETING", "STAGE_OUT",
                               "CONFIGURING", "RESIZING", "SIGNALING", "REQUEUED"))

# States for which squeue's %R prints "(Reason)" rather than the node list.
REASON_STATES = frozenset(("PENDING", "FAILED", "TIMEOUT", "OUT_OF_MEMORY", "DEADLINE",
                           "STAGE_OUT", "REQUEUED", "REQUEUE_HOLD", "SPECIAL_EXIT"))


def job_state_compact(state: str) -> str:
    return JOB_STATE_COMPACT.get(state, state[:2])


def parse_job_states(text: str) -> list[str] | None:
    """`-t` argument -> long state names; None means 'all'. Raises ValueError(bad_name)."""
    out: list[str] = []
    for item in text.split(","):
        name = item.strip().upper()
        if not name:
            continue
        if name == "ALL":
            return None
        if name in JOB_STATE_COMPACT:
            out.append(name)
        elif name in JOB_STATE_LONG:
            out.append(JOB_STATE_LONG[name])
        else:
            raise ValueError(item.strip())
    return out


# ---- durations ----------------------------------------------------------------------------

def duration_compact(secs: int) -> str:
    """squeue %M/%l/%L and sinfo %l: `M:SS`, `H:MM:SS`, `D-HH:MM:SS` (hours not padded)."""
    if secs < 0:
        return "INVALID"
    days, rem = divmod(int(secs), 86400)
    hours, rem = divmod(rem, 3600)
    minutes, seconds = divmod(rem, 60)
    if days:
        return f"{days}-{hours:02d}:{minutes:02d}:{seconds:02d}"
    if hours:
        return f"{hours}:{minutes:02d}:{seconds:02d}"
    return f"{minutes}:{seconds:02d}"


def limit_compact(minutes: int | None, unlimited: str = "UNLIMITED") -> str:
    """A time limit as squeue (`UNLIMITED`) or sinfo (`infinite`) shows it."""
    if minutes is None:
        return unlimited
    return duration_compact(minutes * 60)


def duration_padded(secs: int) -> str:
    """scontrol RunTime/TimeLimit and sacct Elapsed/Timelimit: `HH:MM:SS` or `D-HH:MM:SS`."""
    if secs < 0:
        secs = 0
    days, rem = divmod(int(secs), 86400)
    hours, rem = divmod(rem, 3600)
    minutes, seconds = divmod(rem, 60)
    if days:
        return f"{days}-{hours:02d}:{minutes:02d}:{seconds:02d}"
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}"


def limit_padded(minutes: int | None) -> str:
    return "UNLIMITED" if minutes is None else duration_padded(minutes * 60)


def cpu_time(seconds: float | None) -> str:
    """sacct TotalCPU: `00:00:00` for none, `MM:SS.mmm` under an hour, else `[D-]HH:MM:SS`."""
    if not seconds:
        return "00:00:00"
    whole = int(seconds)
    millis = int(round((seconds - whole) * 1000))
    if millis == 1000:
        whole, millis = whole + 1, 0
    days, rem = divmod(whole, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, secs = divmod(rem, 60)
    if days:
        return f"{days}-{hours:02d}:{minutes:02d}:{secs:02d}"
    if hours:
        return f"{hours:02d}:{minutes:02d}:{secs:02d}"
    if millis:
        return f"{minutes:02d}:{secs:02d}.{millis:03d}"
    return f"00:{minutes:02d}:{secs:02d}"


def run_seconds(job: dict, now: int) -> int:
    """Time a job has run: squeue TIME, scontrol RunTime, sacct Elapsed. A running job's
    end_time is its expected end, so the clock stops only for finished or suspended jobs."""
    start = job.get("start_time") or 0
    state = job.get("state", "")
    if not start or state == "PENDING":
        return 0
    if state == "SUSPENDED":
        end = job.get("suspend_time") or now
    elif state in _STILL_RUNNING or not job.get("end_time"):
        end = now
    else:
        end = job["end_time"]
    return max(0, end - start)


_STILL_RUNNING = frozenset(("RUNNING", "COMPLETING", "CONFIGURING", "SIGNALING", "STAGE_OUT",
                            "RESIZING"))


# ---- timestamps ---------------------------------------------------------------------------

def timestamp(t: int | None, unset: str = "Unknown") -> str:
    """Slurm's `%FT%T` local time; 0 prints `Unknown` (or what the caller names)."""
    if not t:
        return unset
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t))


# ---- memory -------------------------------------------------------------------------------

def mem_units(mb: int | float | None) -> str:
    """Memory in MiB as Slurm prints it in TRES strings and MinMemoryNode: a larger unit only
    when the value is a multiple of half that unit (16000M stays, 64000M is 62.50G, 4096M is 4G)."""
    if not mb:
        return "0"
    value = float(mb)
    units = "MGTPE"
    idx = 0
    while value >= 1024 and int(value) % 512 == 0 and idx < len(units) - 1:
        value /= 1024
        idx += 1
    if value == int(value):
        return f"{int(value)}{units[idx]}"
    return f"{value:.2f}{units[idx]}"


def rss_kb(kb: int | None) -> str:
    """sacct MaxRSS: kilobytes, converted up on the same rule as mem_units (3212K, 1.50M)."""
    if kb is None:
        return ""
    if not kb:
        return "0"
    value = float(kb)
    units = "KMGTP"
    idx = 0
    while value >= 1024 and int(value) % 512 == 0 and idx < len(units) - 1:
        value /= 1024
        idx += 1
    if value == int(value):
        return f"{int(value)}{units[idx]}"
    return f"{value:.2f}{units[idx]}"


# ---- node states --------------------------------------------------------------------------

# controller state -> (sinfo compact, sinfo long, scontrol base)
NODE_STATES = {
    "IDLE": ("idle", "idle", "IDLE"),
    "MIXED": ("mix", "mixed", "MIXED"),
    "ALLOCATED": ("alloc", "allocated", "ALLOCATED"),
    "COMPLETING": ("comp", "completing", "IDLE+COMPLETING"),
    "DOWN": ("down", "down", "DOWN"),
    "DRAINED": ("drain", "drained", "IDLE+DRAIN"),
    "DRAINING": ("drng", "draining", "MIXED+DRAIN"),
    "FAIL": ("fail", "fail", "DOWN+FAIL"),
    "FAILING": ("failg", "failing", "ALLOCATED+FAIL"),
    "MAINT": ("maint", "maint", "IDLE+MAINT"),
    "RESERVED": ("resv", "reserved", "IDLE+RESERVED"),
    "FUTURE": ("futr", "future", "FUTURE"),
    "UNKNOWN": ("unk", "unknown", "UNKNOWN"),
    "INVAL": ("inval", "inval", "INVAL"),
    "REBOOT": ("boot", "reboot", "IDLE+REBOOT"),
    "POWERED_DOWN": ("idle~", "idle~", "IDLE+POWERED_DOWN"),
    "POWERING_UP": ("idle#", "idle#", "IDLE+POWERING_UP"),
}


def node_state_compact(state: str, responding: bool = True) -> str:
    text = NODE_STATES.get(state, (state.lower(),))[0]
    return text if responding else text + "*"


def node_state_long(state: str, responding: bool = True) -> str:
    entry = NODE_STATES.get(state)
    text = entry[1] if entry else state.lower()
    return text if responding else text + "*"


def node_state_scontrol(node: dict) -> str:
    state = node.get("state", "UNKNOWN")
    entry = NODE_STATES.get(state)
    text = entry[2] if entry else state
    if state == "DRAINING" and node.get("cpus_alloc", 0) >= node.get("cpus", 0) > 0:
        text = "ALLOCATED+DRAIN"
    if not node.get("responding", True):
        text += "+NOT_RESPONDING"
    return text


def null(value) -> str:
    """Slurm prints unset strings as `(null)`."""
    return "(null)" if value is None or value == "" else str(value)


def job_id_text(j: dict) -> str:
    """A job's id as squeue %i and sacct JobID print it: `base_task` for an array task."""
    task = j.get("array_task_id")
    if task is not None and j.get("array_job_id"):
        return f"{j['array_job_id']}_{task}"
    if j.get("array_task_str") and j.get("array_job_id"):
        return f"{j['array_job_id']}_[{array_task_text(j)}]"    # an array's pending record
    return str(j["job_id"])


def array_task_text(j: dict) -> str:
    """squeue %K / scontrol ArrayTaskId= of an array record: its index, or the pending
    indices with the throttle (`1-5%2`); 'N/A' outside arrays."""
    task = j.get("array_task_id")
    if task is not None:
        return str(task)
    text = j.get("array_task_str")
    if not text:
        return "N/A"
    throttle = j.get("array_max_tasks")
    return f"{text}%{throttle}" if throttle else text


# TRES that Slurm accounts for whatever AccountingStorageTRES says (slurm.conf(5)); anything else
# (gres/gpu, license/...) shows in TRES strings only when AccountingStorageTRES names it
BASE_TRACKED_TRES = frozenset(("cpu", "mem", "energy", "node", "billing", "fs/disk", "vmem", "pages"))


def tracked_tres_names(accounting_storage_tres: str | None) -> frozenset[str]:
    extra = (accounting_storage_tres or "").split(",")
    return BASE_TRACKED_TRES | {name.strip().lower() for name in extra if name.strip()}


def tracked_tres(text: str | None, tracked: frozenset[str] | None) -> str:
    """A TRES string ('cpu=2,mem=1G,gres/gpu=2') without the TRES accounting does not track
    (observed: with GresTypes=gpu alone, 22.05 never shows gres/gpu in TRES strings)."""
    if not text or tracked is None:
        return text or ""
    return ",".join(item for item in text.split(",")
                    if item and item.split("=", 1)[0].lower() in tracked)


def gres_colon(tres: str | None) -> str:
    """22.05 writes TRES-per-node requests as gres:gpu:2 (the controller sends gres/gpu:2)."""
    return "gres:" + tres[5:] if tres and tres.startswith("gres/") else (tres or "")


def index_ranges(indices) -> str:
    """[0, 1, 2, 5] -> '0-2,5' (GPU and CPU index lists in `scontrol show job -d`)."""
    values = sorted(set(int(i) for i in indices))
    parts = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        parts.append(str(values[i]) if i == j else f"{values[i]}-{values[j]}")
        i = j + 1
    return ",".join(parts)


def short_hostname_for(host: str) -> str:
    """Slurm replaces a SlurmctldHost of `localhost` by this machine's short host name."""
    if host.lower() == "localhost":
        import socket
        return socket.gethostname().split(".")[0]
    return host
