"""scontrol's changing commands: hold, uhold, release, update job|node|partition.

Messages and exit codes as Slurm 22.05 prints them (observed on the real Slurm here):
    scontrol hold 99999      -> "Invalid job id specified for job 99999"
                                "slurm_suspend error: Invalid job id specified", exit 1
    scontrol update jobid=N bogus=1 -> "Update of this parameter is not supported: bogus=1"
                                       "Request aborted", exit 1
    scontrol update nodename=n1 state=drain -> "You must specify a reason when DOWNING or
                                               DRAINING a node. Request denied", exit 1
"""
from __future__ import annotations

from sdk.errors import ERROR_TEXT, SlurmError


class Result:
    __slots__ = ("out", "err", "code")

    def __init__(self, out: str = "", err: str = "", code: int = 0) -> None:
        self.out, self.err, self.code = out, err, code


def _job_ids(words: list[str]) -> list[int] | None:
    ids = []
    for word in words:
        for part in word.split(","):
            if not part.isdigit():
                return None
            ids.append(int(part))
    return ids


def hold_release(verb: str, words: list[str], call) -> Result:
    ids = _job_ids(words)
    if not words or ids is None:
        return Result(err="Invalid job id specified\n", code=1)
    try:
        if verb == "release":
            reply = call("release", {"job_ids": ids})
        else:
            reply = call("hold", {"job_ids": ids, "user_hold": verb == "uhold"})
    except SlurmError as exc:
        return Result(err=f"slurm_suspend error: {exc.message}\n", code=1)
    lines, last = [], ""
    for r in reply["results"]:
        if r.get("code"):
            last = ERROR_TEXT.get(r["code"], r["code"])
            lines.append(f"{last} for job {r['job_id']}")
    if not lines:
        return Result()
    return Result(err="\n".join(lines) + f"\nslurm_suspend error: {last}\n", code=1)


def update(words: list[str], call) -> Result:
    pairs = []
    for word in words:
        key, eq, value = word.partition("=")
        if not eq:
            return Result(err=f"Invalid input: {word}\nRequest aborted\n", code=1)
        pairs.append((key, value))
    if not pairs:
        return Result(err="too few arguments for keyword:update\n", code=1)
    entity, target = pairs[0][0].lower(), pairs[0][1]
    rest = pairs[1:]
    try:
        if entity in ("jobid", "job"):
            if not target.isdigit():
                return Result(err=f"Invalid job id specified for job {target}\n", code=1)
            try:
                call("update_job", {"job_id": int(target), "changes": dict(rest)})
            except SlurmError as exc:
                if exc.code == "BAD_REQUEST":
                    return Result(err=f"{exc.message}\nRequest aborted\n", code=1)
                return Result(err=f"{exc.message} for job {target}\n", code=1)
            return Result()
        if entity in ("nodename", "node"):
            values = {k.lower(): v for k, v in rest}
            state = values.get("state", "")
            if state.upper() in ("DRAIN", "DOWN", "FAIL") and not values.get("reason"):
                return Result(err="You must specify a reason when DOWNING or DRAINING a node. Request denied\n",
                              code=1)
            call("update_node", {"nodes": target, "state": state, "reason": values.get("reason", "")})
            return Result()
        if entity in ("partitionname", "partition"):
            values = {k.lower(): v for k, v in rest}
            call("update_partition", {"partition": target, "state": values.get("state", "")})
            return Result()
    except SlurmError as exc:
        return Result(err=f"slurm_update error: {exc.message}\n", code=1)
    return Result(err=f"Update of this parameter is not supported: {pairs[0][0]}={target}\nRequest aborted\n",
                  code=1)
