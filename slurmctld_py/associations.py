"""The controller's in-memory view of the association tree and the QOS table.

The scheduler (fair share, QOS priority) and the submit path read `Controller.associations`, an
`AssociationRegistry`. It is loaded from the database at start (`load`) and replaced after every
committed sacctmgr change (`replace`); `version` goes up each time, so a reader can cache what
it derives (a fair-share tree) and rebuild only when the version moved.
"""
from __future__ import annotations

from dataclasses import dataclass

from accounting import associations as store
from slurmctld_py.errors import RequestError

ADMIN_LEVELS = ("None", "Operator", "Administrator")
# AccountingStorageEnforce words that imply 'associations' (Slurm: limits and qos need it)
_NEEDS_ASSOCIATIONS = frozenset({"associations", "limits", "qos", "safe"})


@dataclass(frozen=True, slots=True)
class Association:
    id: int
    account: str
    user: str                    # '' for the account's own node of the tree
    partition: str               # '' = every partition
    parent_account: str          # '' only for root
    shares: int | None           # Fairshare; None = 'parent'
    priority: int | None
    qos: tuple[str, ...]
    default_qos: str

    @property
    def is_user(self) -> bool:
        return bool(self.user)


@dataclass(frozen=True, slots=True)
class Qos:
    name: str
    priority: int
    usage_factor: float
    flags: frozenset[str]
    description: str = ""
    usage_threshold: float | None = None
    grace_time: int = 0
    preempt: tuple[str, ...] = ()
    preempt_mode: str = "cluster"
    max_wall: int | None = None              # minutes
    max_jobs_per_user: int | None = None
    max_tres_per_user: str = ""
    grp_tres: str = ""
    seq: int = 0


def _split(text: str) -> tuple[str, ...]:
    return tuple(p for p in text.split(",") if p)


def association_from(rec: store.Association) -> Association:
    return Association(rec.id, rec.account, rec.user, rec.partition, rec.parent_account, rec.shares,
                       rec.priority, _split(rec.qos), rec.default_qos)


def qos_from(rec: store.Qos) -> Qos:
    return Qos(rec.name, rec.priority, rec.usage_factor, frozenset(_split(rec.flags)), rec.description,
               rec.usage_threshold, rec.grace_time, _split(rec.preempt), rec.preempt_mode, rec.max_wall,
               rec.max_jobs_per_user, rec.max_tres_per_user, rec.grp_tres, rec.seq)


class AssociationRegistry:
    """Accounts, users, live associations and QOS, as last committed."""

    def __init__(self, entities: store.Entities | None = None) -> None:
        self.version = 0
        self._assocs: tuple[Association, ...] = ()
        self._qos: dict[str, Qos] = {}
        self._accounts: dict[str, store.Account] = {}
        self._users: dict[str, store.User] = {}
        self._by_key: dict[tuple[str, str, str], Association] = {}
        if entities is not None:
            self.replace(entities)

    @classmethod
    def load(cls, session) -> AssociationRegistry:
        return cls(store.load_all(session))

    def replace(self, entities: store.Entities) -> None:
        self._assocs = tuple(association_from(a) for a in entities.associations)
        self._qos = {q.name: qos_from(q) for q in entities.qos}
        self._accounts = {a.name: a for a in entities.accounts}
        self._users = {u.name: u for u in entities.users}
        self._by_key = {(a.account, a.user, a.partition): a for a in self._assocs}
        self.version += 1

    # ---- what the scheduler reads
    def associations(self) -> tuple[Association, ...]:
        return self._assocs

    def qos(self) -> dict[str, Qos]:
        return dict(self._qos)

    def accounts(self) -> dict[str, store.Account]:
        return dict(self._accounts)

    def users(self) -> dict[str, store.User]:
        return dict(self._users)

    def find(self, account: str, user: str, partition: str = "") -> Association | None:
        """The association a job of `user` under `account` runs in: the partition-specific one
        when it exists, else the account-wide one (user '' finds the account's own node)."""
        if partition:
            found = self._by_key.get((account, user, partition))
            if found is not None:
                return found
        return self._by_key.get((account, user, ""))

    def default_account(self, user: str) -> str | None:
        rec = self._users.get(user)
        return rec.default_account or None if rec is not None else None

    def admin_level(self, user: str) -> str:
        rec = self._users.get(user)
        return rec.admin_level if rec is not None else "None"

    # ---- the submit path
    def resolve(self, enforce: tuple[str, ...], user: str, account: str, partitions: list[str],
                qos: str) -> tuple[str, str]:
        """(account, qos) for a new job; RequestError INVALID_ACCOUNT / INVALID_QOS when
        AccountingStorageEnforce says the request must be refused."""
        words = set(enforce)
        account = account or self.default_account(user) or ""
        assoc = None
        if account:
            for part in partitions or [""]:
                assoc = self.find(account, user, part)
                if assoc is not None:
                    break
        if words & _NEEDS_ASSOCIATIONS and assoc is None:
            raise RequestError("INVALID_ACCOUNT")
        if not qos:
            qos = assoc.default_qos if assoc is not None and assoc.default_qos else "normal"
            if "qos" in words and assoc is not None and qos not in assoc.qos and assoc.qos:
                qos = assoc.qos[0] if len(assoc.qos) == 1 else qos
        if "qos" in words:
            if qos not in self._qos or (assoc is not None and qos not in assoc.qos):
                raise RequestError("INVALID_QOS")
        return account, qos
