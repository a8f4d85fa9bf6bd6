"""sacctmgr's operations on the controller: add, modify, delete and list accounting entities.

Each change runs in one transaction. With `commit` false the transaction is rolled back after
computing what would change (sacctmgr shows that and asks before committing). The reply is a
structured outcome; the command renders it in Slurm's words:

    {"outcome": "ok" | "nothing" | "error", "error": {code, ...}, "records": [...], "assocs": [...]}

After a commit the registry is reloaded from the database (its version goes up).
"""
from __future__ import annotations

from typing import Any

from accounting import associations as store
from slurmctld_py.associations import ADMIN_LEVELS, AssociationRegistry
from slurmctld_py.errors import RequestError

ENTITIES = ("account", "user", "qos", "assoc")
_ASSOC_KEYS = ("shares", "priority", "qos", "qos_add", "qos_remove", "default_qos")
_QOS_KEYS = ("description", "priority", "usage_factor", "usage_threshold", "flags", "flags_add", "flags_remove",
             "grace_time", "preempt", "preempt_mode", "max_wall", "max_jobs_per_user", "max_tres_per_user",
             "grp_tres")


class AcctManager:
    def __init__(self, ctl) -> None:
        self.ctl = ctl

    @property
    def registry(self) -> AssociationRegistry:
        return self.ctl.associations

    # ---------------------------------------------------------------- plumbing
    def may_change(self, caller) -> bool:
        import os
        return (caller.uid == 0 or caller.uid == os.getuid()
                or self.registry.admin_level(caller.user_name) in ("Operator", "Administrator"))

    def run(self, caller, action: str, args: dict) -> dict:
        entity = args.get("entity")
        if action == "list":
            return self.listing()
        if entity not in ENTITIES or action not in ("add", "modify", "delete"):
            raise RequestError("BAD_REQUEST", message=f"unsupported {action} {entity}")
        commit = bool(args.get("commit"))
        # sacctmgr shows what an add would do before the refusal; other changes are refused first
        if (commit or action != "add") and not self.may_change(caller):
            raise RequestError("ACCESS_DENIED")
        handler = getattr(self, f"{action}_{entity}", None)
        if handler is None:
            raise RequestError("BAD_REQUEST", message=f"unsupported {action} {entity}")
        with self.ctl.db() as s:
            t = s.begin()
            try:
                result = handler(s, args)
                if result.get("outcome") == "ok" and commit:
                    t.commit()
                    with s.begin():
                        self.registry.replace(store.load_all(s))
                else:
                    t.rollback()
            except BaseException:
                if t.is_active:
                    t.rollback()
                raise
        if result.get("outcome") == "ok" and commit:
            self.ctl.wake_scheduler()
        return result

    def listing(self) -> dict:
        reg = self.registry
        return {
            "cluster": self.ctl.config.cluster_name,
            "control_host": _control_host(self.ctl.config), "control_port": self.ctl.config.slurmctld_port,
            "accounts": [vars_of(a) for a in reg.accounts().values()],
            "users": [vars_of(u) for u in reg.users().values()],
            "assocs": [vars_of(a) | {"qos": list(a.qos)} for a in reg.associations()],
            "qos": [vars_of(q) | {"flags": sorted(q.flags), "preempt": list(q.preempt)}
                    for q in sorted(reg.qos().values(), key=lambda q: (q.seq, q.name))],
        }

    # ---------------------------------------------------------------- shared checks
    def _live_accounts(self) -> set[str]:
        return {a.account for a in self.registry.associations() if not a.user}

    def _bad_qos(self, names) -> str | None:
        known = self.registry.qos()
        return next((q for q in names if q not in known), None)

    def _assoc_values(self, current: store.Association | None, sets: dict) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if "shares" in sets:
            values["shares"] = sets["shares"]
        if "priority" in sets:
            values["priority"] = None if sets["priority"] in (None, -1) else sets["priority"]
        qos = list(_split(current.qos)) if current is not None else []
        if "qos" in sets:
            qos = list(sets["qos"])
        for q in sets.get("qos_add") or ():
            if q not in qos:
                qos.append(q)
        for q in sets.get("qos_remove") or ():
            if q in qos:
                qos.remove(q)
        if any(k in sets for k in ("qos", "qos_add", "qos_remove")):
            values["qos"] = ",".join(sorted(qos))
        if "default_qos" in sets:
            values["default_qos"] = sets["default_qos"]
        return values

    def _check_assoc_sets(self, sets: dict) -> dict | None:
        bad = self._bad_qos(list(sets.get("qos") or ()) + list(sets.get("qos_add") or ()))
        if bad is not None:
            return {"outcome": "error", "error": {"code": "BAD_QOS", "name": bad,
                                                  "valid": sorted(self.registry.qos())}}
        dq = sets.get("default_qos")
        if dq is not None and dq not in self.registry.qos():
            return {"outcome": "error", "error": {"code": "BAD_DEFAULT_QOS", "name": dq}}
        return None

    # ---------------------------------------------------------------- accounts
    def add_account(self, s, args: dict) -> dict:
        names = _names(args)
        sets = args.get("set") or {}
        live = self._live_accounts()
        new = [n for n in names if n not in live]
        if not new:
            return {"outcome": "nothing"}
        parent = sets.get("parent") or "root"
        if parent not in live:
            return {"outcome": "error", "error": {"code": "NO_PARENT", "name": parent,
                                                  "cluster": self.ctl.config.cluster_name}}
        problem = self._check_assoc_sets(sets)
        if problem:
            return problem
        parent_assoc = self.registry.find(parent, "")
        existing = {a.name for a in store.list_accounts(s)}
        for name in new:
            if name not in existing:
                store.add_account(s, name, description=sets.get("description") or name,
                                  organization=sets.get("organization") or (parent if parent != "root" else name))
            values = {"shares": 1, "qos": ",".join(parent_assoc.qos) if parent_assoc else "normal"}
            values |= self._assoc_values(None, sets)
            store.add_association(s, account=name, parent_account=parent, **values)
        return {"outcome": "ok", "records": new, "parent": parent,
                "assocs": [{"account": n, "user": "", "partition": ""} for n in new]}

    def modify_account(self, s, args: dict) -> dict:
        where, sets = args.get("where") or {}, args.get("set") or {}
        names = set(where.get("names") or ())
        accounts = [a for a in store.list_accounts(s) if not names or a.name in names]
        problem = self._check_assoc_sets(sets)
        if problem:
            return problem
        record = {k: sets[k] for k in ("description", "organization") if k in sets}
        if record:
            for a in accounts:
                store.modify_account(s, a.name, **record)
        assoc_sets = {k: sets[k] for k in _ASSOC_KEYS if k in sets}
        changed = []
        if assoc_sets or "parent" in sets:
            picked = {a.name for a in accounts}
            all_assocs = store.list_associations(s)
            for a in all_assocs:
                if a.account not in picked or a.user:
                    continue
                values = self._assoc_values(a, assoc_sets)
                if "parent" in sets:
                    values["parent_account"] = sets["parent"]
                store.modify_association(s, a.id, **values)
                changed.append(_assoc_line(a) | {"parent": values.get("parent_account", a.parent_account)})
                # Priority and QOS flow down to the account's users that had the account's value
                for child in all_assocs:
                    if child.account != a.account or not child.user:
                        continue
                    inherited = {}
                    if "priority" in values and child.priority in (None, a.priority):
                        inherited["priority"] = values["priority"]
                    if "qos" in values and child.qos == a.qos:
                        inherited["qos"] = values["qos"]
                    if inherited:
                        store.modify_association(s, child.id, **inherited)
                        changed.append(_assoc_line(child))
        if not accounts or not (record or changed):
            return {"outcome": "nothing"}
        return {"outcome": "ok", "records": sorted(a.name for a in accounts) if record else [],
                "assocs": changed}

    def delete_account(self, s, args: dict) -> dict:
        names = set(_names(args))
        if "root" in names:
            raise RequestError("ACCESS_DENIED", message="the root account cannot be deleted")
        existing = [a.name for a in store.list_accounts(s) if a.name in names]
        if not existing:
            return {"outcome": "nothing"}
        assocs = store.list_associations(s)
        doomed = set(existing)
        grew = True
        while grew:     # the whole subtree goes with an account
            grew = False
            for a in assocs:
                if not a.user and a.parent_account in doomed and a.account not in doomed:
                    doomed.add(a.account)
                    grew = True
        for a in assocs:
            if a.account in doomed:
                store.delete_association(s, a.id)
        for name in existing:
            store.delete_account(s, name)
        _drop_orphaned_defaults(s)
        return {"outcome": "ok", "records": sorted(existing)}

    # ---------------------------------------------------------------- users
    def add_user(self, s, args: dict) -> dict:
        names = _names(args)
        sets = args.get("set") or {}
        accounts = list(sets.get("accounts") or ())
        default = sets.get("default_account") or ""
        if not accounts and default:
            accounts = [default]
        if not accounts:
            return {"outcome": "error", "error": {"code": "NEED_ACCOUNT"}}
        live = self._live_accounts()
        missing = next((a for a in accounts + ([default] if default else []) if a not in live), None)
        if missing is not None:
            return {"outcome": "error", "error": {"code": "NO_ACCOUNT", "name": missing}}
        level = sets.get("admin_level")
        if level is not None and level not in ADMIN_LEVELS:
            level = None
        problem = self._check_assoc_sets(sets)
        if problem:
            return problem
        partition = sets.get("partition") or ""
        users = {u.name for u in store.list_users(s)}
        taken = {(a.account, a.user, a.partition) for a in store.list_associations(s)}
        new_users, new_assocs = [], []
        for name in names:
            if name not in users:
                store.add_user(s, name, default_account=default or accounts[0], admin_level=level or "None")
                new_users.append(name)
            for account in accounts:
                if (account, name, partition) in taken:
                    continue
                parent = self.registry.find(account, "")
                values = {"shares": 1, "qos": ",".join(parent.qos) if parent else "normal"}
                values |= self._assoc_values(None, sets)
                store.add_association(s, account=account, user=name, partition=partition, parent_account=account,
                                      **values)
                new_assocs.append({"account": account, "user": name, "partition": partition})
        if not new_users and not new_assocs:
            return {"outcome": "nothing"}
        return {"outcome": "ok", "records": new_users, "assocs": new_assocs}

    def modify_user(self, s, args: dict) -> dict:
        where, sets = args.get("where") or {}, args.get("set") or {}
        names = set(where.get("names") or ())
        accounts = set(where.get("accounts") or ())
        partitions = set(where.get("partitions") or ())
        users = [u for u in store.list_users(s) if not names or u.name in names]
        if not users:
            return {"outcome": "nothing"}
        problem = self._check_assoc_sets(sets)
        if problem:
            return problem
        picked = {u.name for u in users}
        assocs = [a for a in store.list_associations(s) if a.user in picked
                  and (not accounts or a.account in accounts) and (not partitions or a.partition in partitions)]
        record: dict[str, Any] = {}
        if "default_account" in sets:
            new = sets["default_account"]
            lacking = sorted(u for u in picked if not any(a.account == new and a.user == u for a in assocs))
            if lacking:
                return {"outcome": "error", "error": {"code": "NOT_ASSOCIATED", "name": new, "users": lacking,
                                                      "cluster": self.ctl.config.cluster_name}}
            record["default_account"] = new
        if "admin_level" in sets:
            if sets["admin_level"] not in ADMIN_LEVELS:
                return {"outcome": "error", "error": {"code": "BAD_ADMIN_LEVEL", "name": sets["admin_level"]}}
            record["admin_level"] = sets["admin_level"]
        for u in users:
            if record:
                store.modify_user(s, u.name, **record)
        assoc_sets = {k: sets[k] for k in _ASSOC_KEYS if k in sets}
        changed = []
        if assoc_sets:
            for a in assocs:
                values = self._assoc_values(a, assoc_sets)
                dq = values.get("default_qos", a.default_qos)
                if dq and dq not in _split(values.get("qos", a.qos)):
                    return {"outcome": "error", "error": {"code": "NO_DEFAULT_QOS_ACCESS", "assocs": [
                        _assoc_line(a) | {"default_qos": dq}]}}
                store.modify_association(s, a.id, **values)
                changed.append(_assoc_line(a))
        if not record and not changed:
            return {"outcome": "nothing"}
        return {"outcome": "ok", "records": sorted(picked) if record else [], "assocs": changed}

    def delete_user(self, s, args: dict) -> dict:
        where = args.get("where") or {}
        names = set(_names(args))
        accounts = set(where.get("accounts") or ())
        partitions = set(where.get("partitions") or ())
        users = [u.name for u in store.list_users(s) if u.name in names]
        assocs = [a for a in store.list_associations(s) if a.user in names]
        if accounts or partitions:
            gone = [a for a in assocs if (not accounts or a.account in accounts)
                    and (not partitions or a.partition in partitions)]
            if not gone:
                return {"outcome": "nothing"}
            for a in gone:
                store.delete_association(s, a.id)
            _drop_orphaned_defaults(s)
            return {"outcome": "ok", "assocs": [_assoc_line(a) for a in gone], "records": []}
        if not users:
            return {"outcome": "nothing"}
        for a in assocs:
            store.delete_association(s, a.id)
        for name in users:
            store.delete_user(s, name)
        return {"outcome": "ok", "records": sorted(users)}

    # ---------------------------------------------------------------- QOS
    def add_qos(self, s, args: dict) -> dict:
        names = _names(args)
        new = [n for n in names if n not in self.registry.qos()]
        if not new:
            return {"outcome": "nothing"}
        values = _qos_values(None, args.get("set") or {})
        for name in new:
            store.add_qos(s, name, **({"description": name} | values))
        return {"outcome": "ok", "records": new}

    def modify_qos(self, s, args: dict) -> dict:
        where, sets = args.get("where") or {}, args.get("set") or {}
        names = set(where.get("names") or ())
        picked = [q for q in store.list_qos(s) if not names or q.name in names]
        if not picked:
            return {"outcome": "nothing"}
        for q in picked:
            store.modify_qos(s, q.name, **_qos_values(q, sets))
        return {"outcome": "ok", "records": [q.name for q in picked]}

    def delete_qos(self, s, args: dict) -> dict:
        names = set(_names(args))
        picked = [q.name for q in store.list_qos(s) if q.name in names]
        if not picked:
            return {"outcome": "nothing"}
        assocs = store.list_associations(s)
        holding = sorted((a for a in assocs if a.default_qos in picked), key=lambda a: (a.account, a.user))
        if holding:
            return {"outcome": "error", "error": {"code": "DEFAULT_QOS_IN_USE", "assocs": [
                _assoc_line(a) | {"default_qos": a.default_qos} for a in holding]}}
        for a in assocs:
            kept = [q for q in _split(a.qos) if q not in picked]
            if kept != list(_split(a.qos)):
                store.modify_association(s, a.id, qos=",".join(kept))
        for name in picked:
            store.delete_qos(s, name)
        return {"outcome": "ok", "records": picked}


def _drop_orphaned_defaults(s) -> None:
    """A user's default account is cleared once the user has no association with it (slurmdbd
    does the same: `sacctmgr show user` then shows an empty Def Acct)."""
    held = {(a.user, a.account) for a in store.list_associations(s) if a.user}
    for u in store.list_users(s):
        if u.default_account and (u.name, u.default_account) not in held:
            store.modify_user(s, u.name, default_account="")


def _control_host(config) -> str:
    host = config.control_addr or (config.control_hosts[0] if config.control_hosts else "")
    return "127.0.0.1" if host == "localhost" else host


def _names(args: dict) -> list[str]:
    names = args.get("names") or (args.get("where") or {}).get("names") or []
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise RequestError("BAD_REQUEST")
    return list(dict.fromkeys(names))


def _split(text: str) -> tuple[str, ...]:
    return tuple(p for p in text.split(",") if p)


def _assoc_line(a) -> dict:
    return {"account": a.account, "user": a.user, "partition": a.partition, "parent": a.parent_account}


def _qos_values(current: store.Qos | None, sets: dict) -> dict[str, Any]:
    values = {k: sets[k] for k in _QOS_KEYS if k in sets and not k.startswith("flags")}
    for key in ("max_wall", "max_jobs_per_user", "usage_threshold"):
        if values.get(key) == -1:
            values[key] = None
    flags = list(_split(current.flags)) if current is not None else []
    if "flags" in sets:
        flags = list(sets["flags"])
    flags += [f for f in sets.get("flags_add") or () if f not in flags]
    flags = [f for f in flags if f not in (sets.get("flags_remove") or ())]
    if any(k in sets for k in ("flags", "flags_add", "flags_remove")):
        values["flags"] = ",".join(sorted(flags))
    if isinstance(values.get("preempt"), list):
        values["preempt"] = ",".join(values["preempt"])
    return values


def vars_of(record) -> dict:
    return {name: getattr(record, name) for name in record.__slots__}
