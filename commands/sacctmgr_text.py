"""What sacctmgr prints about a change (Slurm 22.05's words and column widths), and its
commit prompt."""
from __future__ import annotations

import sys

from commands.sacctmgr_parse import PROG, Command, Refused

COMMIT_WAIT_S = 30.0


def _assoc_added(a: dict, cluster: str, entity: str) -> str:
    if entity == "account":
        return f"  A = {a['account']:<10.10} C = {cluster:<10.10}"
    line = f"  U = {a['user']:<9.9} A = {a['account']:<10.10} C = {cluster:<10.10}"
    return line + (f" P = {a['partition']:<10.10}" if a.get("partition") else "")


def _assoc_modified(a: dict, cluster: str) -> str:
    if not a["user"]:
        return f"  C = {cluster:<10.10} A = {a['account']} of {a['parent']}"
    line = f"  C = {cluster:<10.10} A = {a['account']:<20.20} U = {a['user']:<9.9}"
    return line + (f" P = {a['partition']:<10.10}" if a.get("partition") else "")


def _assoc_settings(sets: dict, raw: dict, *, parent: str | None) -> list[str]:
    lines = []
    if "shares" in sets:
        lines.append(f"  {'Fairshare':<14}= {'parent' if sets['shares'] is None else sets['shares']}")
    if "priority" in sets:
        lines.append(f"  {'Priority':<14}= {sets['priority']}")
    if "qos" in sets:
        lines.append(f"  {'QOS':<14}= {','.join(sets['qos'])}")
    if "default_qos" in sets:
        lines.append(f"  {'DefQOS':<14}= {sets['default_qos']}")
    if parent is not None:
        lines.append(f"  {'Parent':<14}= {parent}")
    return lines


def describe_add(cmd: Command, sets: dict, raw: dict, result: dict, cluster: str) -> str:
    lines: list[str] = []
    if cmd.entity == "account":
        lines += [" Adding Account(s)"] + [f"  {n}" for n in result["records"]]
        lines += [" Settings", f"  {'Description':<16}= {sets.get('description') or 'Account Name'}",
                  f"  {'Organization':<16}= {sets.get('organization') or 'Parent/Account Name'}"]
        lines += [" Associations"] + [_assoc_added(a, cluster, "account") for a in result["assocs"]]
        assoc_lines = _assoc_settings(sets, raw, parent=result["parent"])
        if len(assoc_lines) > 1 or "parent" in sets:
            lines += [" Settings"] + assoc_lines
    elif cmd.entity == "user":
        if result["records"]:
            lines += [" Adding User(s)"] + [f"  {n}" for n in result["records"]]
            user_lines = []
            if "default_account" in sets:
                user_lines.append(f"  {'Default Account':<16}= {sets['default_account']}")
            if "admin_level" in sets:
                user_lines.append(f"  {'Admin Level':<16}= {sets['admin_level']}")
            if user_lines:
                lines += [" Settings ="] + user_lines
        lines += [" Associations ="] + [_assoc_added(a, cluster, "user") for a in result["assocs"]]
        lines += [" Non Default Settings"] + _assoc_settings(sets, raw, parent=None)
    else:
        lines += [" Adding QOS(s)"] + [f"  {n}" for n in result["records"]]
        lines += [" Settings", f"  {'Description':<15}= {sets.get('description') or result['records'][0]}"]
        lines += _qos_settings(sets)
    return "".join(line + "\n" for line in lines)


def _qos_settings(sets: dict) -> list[str]:
    from conf.timefmt import format_duration
    shown = (("flags", "Flags", lambda v: ",".join(v)), ("grace_time", "GraceTime", str),
             ("grp_tres", "GrpTRES", str), ("max_jobs_per_user", "MaxJobsPerUser", str),
             ("max_tres_per_user", "MaxTRESPerUser", str),
             ("max_wall", "MaxWall", lambda v: "UNLIMITED" if v is None else format_duration(v * 60)),
             ("preempt", "Preempt", lambda v: ",".join(v)), ("preempt_mode", "PreemptMode", str.upper),
             ("priority", "Priority", str), ("usage_factor", "UsageFactor", lambda v: f"{v:.4f}"),
             ("usage_threshold", "UsageThreshold", lambda v: f"{v:.4f}"))
    lines = []
    for key, label, fmt in shown:
        if key in sets:
            width = 15 if key == "max_jobs_per_user" else 25
            lines.append(f"  {label:<{width}}= {fmt(sets[key])}")
    return lines


def describe_change(cmd: Command, result: dict, cluster: str) -> str:
    lines: list[str] = []
    if cmd.verb == "modify":
        if result.get("records"):
            noun = {"account": "accounts", "user": "users", "qos": "qos"}[cmd.entity]
            lines += [f" Modified {noun}..."] + [f"  {n}" for n in result["records"]]
        if result.get("assocs"):
            lines.append(f" Modified {cmd.entity} associations...")
            order = sorted(result["assocs"], key=lambda a: (a["account"], a["user"] != "", a["user"], a["partition"]))
            lines += [_assoc_modified(a, cluster) for a in order]
    else:
        if cmd.entity == "user" and result.get("assocs"):
            lines.append(" Deleting user associations...")
            lines += [f"  C = {cluster:<10.10} A = {a['account']:<10.10} U = {a['user']:<9.9}"
                      for a in result["assocs"]]
        else:
            noun = {"account": "accounts...", "user": "users...", "qos": "QOS(s)..."}[cmd.entity]
            lines += [f" Deleting {noun}"] + [f"  {n}" for n in result["records"]]
    return "".join(line + "\n" for line in lines)


def describe_error(error: dict, cmd: Command, raw: dict, cluster: str) -> Refused:
    code = error.get("code")
    if code == "NO_PARENT":
        return Refused(f" Parent account '{error['name']}' doesn't exist on cluster {error['cluster']}\n"
                       "        Contact your admin to add this account.\n No associations created.")
    if code == "NO_ACCOUNT":
        return Refused(f" This account '{error['name']}' doesn't exist.\n"
                       "        Contact your admin to add this account.\n No associations or wckeys created.")
    if code == "NEED_ACCOUNT":
        return Refused(" Need name of account to add user to.")
    if code == "BAD_QOS":
        token = raw.get("qos", "")
        return Refused(f"{PROG}: error: You gave a bad qos '{error['name']}'. Valid QOS's are "
                       f"{','.join(error['valid'])}\n Unknown option: {token}\n Use keyword 'where' to modify condition")
    if code == "BAD_DEFAULT_QOS":
        return Refused(f"You gave a bad default qos '{error['name']}'.  Use 'list qos' to get complete list.")
    if code == "NOT_ASSOCIATED":
        users = "".join(f"  U = {u} C = {error['cluster']}\n" for u in error["users"])
        return Refused("", 1, f" Can't modify because these users aren't associated with new default account "
                              f"'{error['name']}'...\n{users}")
    if code == "NO_DEFAULT_QOS_ACCESS":
        lines = [_defqos_line(a, cluster) for a in error["assocs"]]
        return Refused(" These associations don't have access to their default qos.\n"
                       " Please give them access before they the default can be set to this.\n" + "\n".join(lines), 0)
    if code == "DEFAULT_QOS_IN_USE":
        lines = [_defqos_line(a, cluster) for a in error["assocs"]]
        return Refused(" Associations listed below have these as their Default QOS.\n" + "\n".join(lines) +
                       "\n Please either remove the qos' listed above from list and resubmit,\n"
                       " or change the default qos to remove the qos.\n Changes Discarded")
    if code == "BAD_ADMIN_LEVEL":
        return Refused(f" Unknown option: {raw.get('admin_level', '')}\n Use keyword 'where' to modify condition")
    return Refused(f"{PROG}: error: {error}")


def _defqos_line(a: dict, cluster: str) -> str:
    return (f"  DefQOS = {a['default_qos']:<10.10} C = {cluster:<10.10} A = {a['account']:<20.20} "
            f"U = {a['user']:<9.9}")


def confirm(stdin=None, stdout=None, wait: float = COMMIT_WAIT_S) -> bool:
    """Slurm's prompt; y/yes commits. End of input or no answer in time discards (Slurm itself
    spins on end of input: not copied)."""
    import select
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    stdout.write("Would you like to commit changes? (You have 30 seconds to decide)\n")
    while True:
        stdout.write("(N/y): ")
        stdout.flush()
        try:
            ready, _, _ = select.select([stdin], [], [], wait)
        except (ValueError, OSError):      # not a real file (tests): just read
            ready = [stdin]
        answer = stdin.readline() if ready else ""
        stdout.write("\n")
        word = answer.strip().lower()
        if word in ("y", "yes"):
            return True
        if word in ("n", "no", "") or not answer:
            return False
        stdout.write("Y or N please\n")
