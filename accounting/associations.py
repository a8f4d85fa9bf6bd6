"""Store functions for accounts, users, associations, QOS and decayed association usage.

    with factory() as s, s.begin():
        entities = associations.load_all(s)
        assoc_id = associations.add_association(s, account="physics", parent_account="science", shares=20)

Callers own the transaction; these functions only read and write rows. Validation (does the
parent exist, may this caller change anything) belongs to the controller. Associations and QOS
are soft-deleted (slurmdbd keeps their ids for usage and old jobs); accounts and users go away.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from accounting.errors import UnknownColumnError
from accounting.models import AccountRow, AssociationRow, AssocUsage, QosRow, UserRow

__all__ = [
    "Account",
    "Association",
    "Entities",
    "Qos",
    "UsageRow",
    "User",
    "add_account",
    "add_association",
    "add_qos",
    "add_user",
    "delete_account",
    "delete_association",
    "delete_qos",
    "delete_user",
    "ensure_defaults",
    "list_accounts",
    "list_associations",
    "list_qos",
    "list_users",
    "load_all",
    "load_usage",
    "modify_account",
    "modify_association",
    "modify_qos",
    "modify_user",
    "save_usage",
]


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    description: str
    organization: str


@dataclass(frozen=True, slots=True)
class User:
    name: str
    default_account: str
    admin_level: str


@dataclass(frozen=True, slots=True)
class Association:
    id: int
    account: str
    user: str
    partition: str
    parent_account: str
    shares: int | None
    priority: int | None
    qos: str
    default_qos: str


@dataclass(frozen=True, slots=True)
class Qos:
    name: str
    description: str
    priority: int
    usage_factor: float
    usage_threshold: float | None
    flags: str
    grace_time: int
    preempt: str
    preempt_mode: str
    max_wall: int | None
    max_jobs_per_user: int | None
    max_tres_per_user: str
    grp_tres: str
    seq: int


@dataclass(frozen=True, slots=True)
class UsageRow:
    assoc_id: int
    usage_raw: float
    usage_tres: dict[str, float]
    updated_at: float | None


@dataclass(frozen=True, slots=True)
class Entities:
    """Everything live, as the controller keeps it in memory."""

    accounts: tuple[Account, ...]
    users: tuple[User, ...]
    associations: tuple[Association, ...]
    qos: tuple[Qos, ...]


def _record(cls: type, row: Any) -> Any:
    return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})


def _check(model: type, values: dict[str, Any], frozen: tuple[str, ...] = ()) -> None:
    columns = set(model.__table__.columns.keys())
    bad = [k for k in values if k not in columns or k in frozen]
    if bad:
        raise UnknownColumnError(f"{model.__tablename__} has no settable column(s) {', '.join(sorted(bad))}")


# ---------------------------------------------------------------- whole state
def ensure_defaults(s: Session) -> None:
    """The root account, its association and QOS 'normal' (the migration makes them; this
    restores them in a database emptied by hand)."""
    if s.get(AccountRow, "root") is None:
        s.add(AccountRow(name="root", description="default root account", organization="root"))
    live = s.scalars(select(AssociationRow.id).where(
        AssociationRow.account == "root", AssociationRow.user == "", AssociationRow.partition == "",
        AssociationRow.deleted.is_(False))).first()
    if live is None:
        s.add(AssociationRow(account="root", user="", partition="", parent_account="", shares=1, qos="normal"))
    qos = s.get(QosRow, "normal")
    if qos is None:
        s.add(QosRow(name="normal", description="Normal QOS default", priority=0, usage_factor=1.0, seq=1))
    elif qos.deleted:
        qos.deleted = False
    s.flush()


def load_all(s: Session) -> Entities:
    return Entities(list_accounts(s), list_users(s), list_associations(s), list_qos(s))


# ---------------------------------------------------------------- accounts
def list_accounts(s: Session) -> tuple[Account, ...]:
    return tuple(_record(Account, r) for r in s.scalars(select(AccountRow).order_by(AccountRow.name)))


def add_account(s: Session, name: str, *, description: str = "", organization: str = "") -> None:
    s.add(AccountRow(name=name, description=description, organization=organization))
    s.flush()


def modify_account(s: Session, name: str, **values: Any) -> None:
    _check(AccountRow, values, ("name",))
    if values:
        s.execute(update(AccountRow).where(AccountRow.name == name).values(**values))


def delete_account(s: Session, name: str) -> None:
    s.execute(delete(AccountRow).where(AccountRow.name == name))


# ---------------------------------------------------------------- users
def list_users(s: Session) -> tuple[User, ...]:
    return tuple(_record(User, r) for r in s.scalars(select(UserRow).order_by(UserRow.name)))


def add_user(s: Session, name: str, *, default_account: str = "", admin_level: str = "None") -> None:
    s.add(UserRow(name=name, default_account=default_account, admin_level=admin_level))
    s.flush()


def modify_user(s: Session, name: str, **values: Any) -> None:
    _check(UserRow, values, ("name",))
    if values:
        s.execute(update(UserRow).where(UserRow.name == name).values(**values))


def delete_user(s: Session, name: str) -> None:
    s.execute(delete(UserRow).where(UserRow.name == name))


# ---------------------------------------------------------------- associations
def list_associations(s: Session) -> tuple[Association, ...]:
    rows = s.scalars(select(AssociationRow).where(AssociationRow.deleted.is_(False)).order_by(AssociationRow.id))
    return tuple(_record(Association, r) for r in rows)


def add_association(s: Session, *, account: str, user: str = "", partition: str = "", parent_account: str = "",
                    shares: int | None = 1, priority: int | None = None, qos: str = "",
                    default_qos: str = "") -> int:
    """Insert a live association; returns its id. A second live (account, user, partition)
    violates the partial unique index (IntegrityError)."""
    row = AssociationRow(account=account, user=user, partition=partition, parent_account=parent_account,
                         shares=shares, priority=priority, qos=qos, default_qos=default_qos)
    s.add(row)
    s.flush()
    return int(row.id)


def modify_association(s: Session, assoc_id: int, **values: Any) -> None:
    _check(AssociationRow, values, ("id", "deleted"))
    if values:
        s.execute(update(AssociationRow).where(AssociationRow.id == assoc_id).values(**values))


def delete_association(s: Session, assoc_id: int) -> None:
    s.execute(update(AssociationRow).where(AssociationRow.id == assoc_id).values(deleted=True))


# ---------------------------------------------------------------- QOS
def list_qos(s: Session) -> tuple[Qos, ...]:
    rows = s.scalars(select(QosRow).where(QosRow.deleted.is_(False)).order_by(QosRow.seq, QosRow.name))
    return tuple(_record(Qos, r) for r in rows)


_QOS_DEFAULTS: dict[str, Any] = {
    "description": "", "priority": 0, "usage_factor": 1.0, "usage_threshold": None, "flags": "",
    "grace_time": 0, "preempt": "", "preempt_mode": "cluster", "max_wall": None,
    "max_jobs_per_user": None, "max_tres_per_user": "", "grp_tres": "",
}


def add_qos(s: Session, name: str, **values: Any) -> None:
    """Create a QOS (or bring a deleted one of that name back, with fresh settings)."""
    _check(QosRow, values, ("name", "deleted", "seq"))
    seq = max(s.scalars(select(QosRow.seq)).all(), default=0) + 1
    settings = _QOS_DEFAULTS | values | {"deleted": False, "seq": seq}
    row = s.get(QosRow, name)
    if row is None:
        s.add(QosRow(name=name, **settings))
    else:
        for key, value in settings.items():
            setattr(row, key, value)
    s.flush()


def modify_qos(s: Session, name: str, **values: Any) -> None:
    _check(QosRow, values, ("name", "deleted", "seq"))
    if values:
        s.execute(update(QosRow).where(QosRow.name == name).values(**values))


def delete_qos(s: Session, name: str) -> None:
    s.execute(update(QosRow).where(QosRow.name == name).values(deleted=True))


# ---------------------------------------------------------------- decayed usage
def load_usage(s: Session) -> dict[int, UsageRow]:
    return {r.assoc_id: _record(UsageRow, r) for r in s.scalars(select(AssocUsage))}


def save_usage(s: Session, rows: list[UsageRow]) -> None:
    """Upsert each association's usage (a read-then-write; the controller is the only writer)."""
    existing = {r.assoc_id: r for r in s.scalars(select(AssocUsage).where(
        AssocUsage.assoc_id.in_([u.assoc_id for u in rows])))} if rows else {}
    for u in rows:
        row = existing.get(u.assoc_id)
        if row is None:
            s.add(AssocUsage(assoc_id=u.assoc_id, usage_raw=u.usage_raw, usage_tres=dict(u.usage_tres),
                             updated_at=u.updated_at))
        else:
            row.usage_raw, row.usage_tres, row.updated_at = u.usage_raw, dict(u.usage_tres), u.updated_at
    s.flush()
