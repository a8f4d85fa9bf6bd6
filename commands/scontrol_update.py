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


def requeue(verb: str, words: list[str], call) -> Result:
    """scontrol requeue|requeuehold [Incomplete] [State=SpecialExit] JOBID[,JOBID...]:
    `<error> for job N` per refused job, exit 1 (observed: requeue of a pending job prints
    "Job is pending execution for job N")."""
    ids_words = [w for w in words if w.lower() != "incomplete" and not w.lower().startswith("state=")]
    ids = _job_ids(ids_words)
    if not ids_words or ids is None:
        return Result(err="Invalid job id specified\n", code=1)
    try:
        reply = call(verb, {"job_ids": ids})
    except SlurmError as exc:
        return Result(err=f"{exc.message}\n", code=1)
    lines = [f"{ERROR_TEXT.get(r['code'], r['code'])} for job {r['job_id']}" for r in reply["results"] if r.get("code")]
    return Result(err="".join(line + "\n" for line in lines), code=1 if lines else 0)


# Values scontrol checks itself before asking the controller (observed messages, exit 1)
def _check_job_value(key: str, value: str) -> str | None:
    name = key.lower()
    if name == "numcpus":
        if not value.isascii() or not value.isdigit():
            return (f'scontrol: error: Invalid numeric value "{value}" for NumCPUs.\n'
                    f"scontrol: error: Invalid NumCPUs value: {value}\n")
        if int(value) == 0:
            return f"scontrol: error: Invalid NumCPUs value: {value}\n"
    if name in ("minmemorynode", "minmemorycpu", "numnodes", "numtasks", "priority") and not (
            value.isascii() and value.isdigit()):
        return f"scontrol: error: Invalid {key} value: {value}\n"
    if name == "mailtype":
        from commands.sbatch_job_options import parse_mail_type
        from commands.sbatch_options import OptionValueError
        try:
            parse_mail_type(value)
        except OptionValueError:
            return f"Invalid MailType: {value}\n"
    if name == "timelimit":
        from conf.timefmt import parse_minutes
        try:
            parse_minutes(value)
        except ValueError:
            return "scontrol: error: Invalid TimeLimit value\n"
    if name in ("starttime", "begintime"):
        import time
        from conf.timefmt import parse_timestamp
        try:
            parse_timestamp(value, time.time())
        except ValueError:
            return f"Invalid time specification (pos=0): {value}\nNo changes specified\n"
    return None


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
            for key, value in rest:
                problem = _check_job_value(key, value)
                if problem:
                    return Result(err=problem, code=1)
            if any(key.lower() == "mailtype" for key, _ in rest):
                from commands.sbatch_job_options import parse_mail_type   # sent in canonical form
                rest = [(k, parse_mail_type(v) if k.lower() == "mailtype" else v) for k, v in rest]
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
