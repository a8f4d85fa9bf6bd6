"""Job dependencies (sbatch -d): parsing, evaluation and Slurm's display.

    afterok:12:13,afterany:14     every entry must be satisfied (',')
    afterok:12?afternotok:13      one satisfied entry is enough ('?'; a line mixing both
                                  separators is taken as '?', as Slurm 22.05 does)
    after:12+5                    12 started (or ended) at least 5 minutes ago
    singleton                     no earlier active job of the same name and user
    12                            bare ids mean afterany

Observed on Slurm 22.05 here: unknown ids are accepted at submit and count as satisfied; satisfied
entries disappear from the display (`(null)` when none is left); unmet entries show
`(unfulfilled)`, impossible ones `(failed)` with reason DependencyNeverSatisfied.
"""
from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from slurmctld_py.errors import RequestError

ALL_TASKS = -1     # Dep.task of `185_*`: the whole array, shown as Slurm shows it
KINDS = ("after", "afterany", "afterok", "afternotok", "aftercorr", "singleton")


class DepState(enum.Enum):
    SATISFIED = "satisfied"
    WAITING = "unfulfilled"
    NEVER = "failed"


@dataclass(frozen=True, slots=True)
class Dep:
    kind: str
    job_id: int = 0
    delay_min: int = 0
    task: int | None = None      # afterok:185_3 names one task of array 185; ALL_TASKS: 185_*

    def text(self) -> str:
        if self.kind == "singleton":
            return "singleton"
        if self.task is None:
            job = f"{self.job_id}"
        else:
            job = f"{self.job_id}_{'*' if self.task == ALL_TASKS else self.task}"
        return f"{self.kind}:{job}" + (f"+{self.delay_min}" if self.delay_min else "")


@dataclass(frozen=True, slots=True)
class DepExpr:
    deps: tuple[Dep, ...]
    any_of: bool


@dataclass(frozen=True, slots=True)
class Facts:
    """What a dependency needs to know about another job."""

    state: str
    start_time: float | None
    exit_code: int = 0


def parse(text: str) -> DepExpr:
    """RequestError('DEPENDENCY') for anything Slurm refuses."""
    text = text.strip()
    if not text:
        raise RequestError("DEPENDENCY")
    any_of = "?" in text
    deps: list[Dep] = []
    for part in text.replace("?", ",").split(","):
        if not part:
            raise RequestError("DEPENDENCY")
        if part == "singleton":
            deps.append(Dep("singleton"))
            continue
        if part.isdigit():
            deps.append(Dep("afterany", int(part)))
            continue
        kind, sep, ids = part.partition(":")
        if kind not in KINDS or kind == "singleton" or not sep or not ids:
            raise RequestError("DEPENDENCY")
        for item in ids.split(":"):
            job, plus, delay = item.partition("+")
            job, underscore, task = job.partition("_")   # 185_3: one task; 185_* the array
            if not job.isdigit() or (plus and (kind != "after" or not delay.isdigit())):
                raise RequestError("DEPENDENCY")
            # Slurm 22.05 here: `185_` means task 0, `185_*` the whole array, `185_x` is refused
            if underscore and task not in ("*", "") and not task.isdigit():
                raise RequestError("DEPENDENCY")
            one_task = None
            if underscore:
                one_task = ALL_TASKS if task == "*" else int(task or 0)
            deps.append(Dep(kind, int(job), int(delay) if plus else 0, one_task))
    return DepExpr(tuple(deps), any_of)


_FINISHED_OK = ("COMPLETED",)
_ENDED = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL",
          "DEADLINE", "OUT_OF_MEMORY")


TaskLookup = Callable[[int, int], "Facts | None"]


def _one(dep: Dep, lookup: Callable[[int], Facts | None], now: float, singleton_blocked: bool,
         task_lookup: TaskLookup | None = None) -> DepState:
    if dep.kind == "singleton":
        return DepState.WAITING if singleton_blocked else DepState.SATISFIED
    if dep.task is not None and dep.task != ALL_TASKS and task_lookup is not None:
        facts = task_lookup(dep.job_id, dep.task)
    else:
        facts = lookup(dep.job_id)
    if facts is None:
        return DepState.SATISFIED              # unknown or long gone: Slurm lets it pass
    ended = facts.state in _ENDED
    if dep.kind == "after":
        if facts.start_time is None and not ended:
            return DepState.WAITING
        started = facts.start_time or now
        return DepState.SATISFIED if now >= started + dep.delay_min * 60 else DepState.WAITING
    if not ended:
        return DepState.WAITING
    ok = facts.state in _FINISHED_OK and facts.exit_code == 0
    if dep.kind == "afterany":
        return DepState.SATISFIED
    if dep.kind in ("afterok", "aftercorr"):
        return DepState.SATISFIED if ok else DepState.NEVER
    return DepState.NEVER if ok else DepState.SATISFIED      # afternotok


def evaluate(expr: DepExpr, lookup: Callable[[int], Facts | None], now: float,
             singleton_blocked: bool = False,
             task_lookup: TaskLookup | None = None) -> tuple[DepState, str]:
    """(overall state, what scontrol/squeue show: the entries not yet satisfied, or '').
    `task_lookup(array_id, task)` answers for one task of an array (`afterok:185_3`)."""
    states = [(_one(d, lookup, now, singleton_blocked, task_lookup), d) for d in expr.deps]
    if expr.any_of:
        if any(s is DepState.SATISFIED for s, _ in states):
            return DepState.SATISFIED, ""
        overall = DepState.NEVER if all(s is DepState.NEVER for s, _ in states) else DepState.WAITING
    else:
        if any(s is DepState.NEVER for s, _ in states):
            overall = DepState.NEVER
        elif all(s is DepState.SATISFIED for s, _ in states):
            return DepState.SATISFIED, ""
        else:
            overall = DepState.WAITING
    sep = "?" if expr.any_of else ","
    shown = sep.join(f"{d.text()}({s.value})" for s, d in states if s is not DepState.SATISFIED)
    return overall, shown
