"""accounting.associations on SQLite and PostgreSQL: accounts, users, associations, QOS, usage."""
from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from accounting import associations as store
from accounting import make_engine, migrate, session_factory
from accounting.errors import UnknownColumnError


@pytest.fixture
def seeded(factory):
    # the PostgreSQL fixture empties every table between tests; put back what the migration made
    with factory() as s, s.begin():
        store.ensure_defaults(s)
    return factory


def test_migration_creates_root_and_normal(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        migrate(engine)
        with session_factory(engine)() as s:
            everything = store.load_all(s)
    finally:
        engine.dispose()
    assert [a.name for a in everything.accounts] == ["root"]
    assert everything.accounts[0].description == "default root account"
    root = [a for a in everything.associations if a.account == "root" and not a.user]
    assert len(root) == 1 and root[0].shares == 1 and root[0].parent_account == "" and root[0].qos == "normal"
    assert [(q.name, q.priority, q.usage_factor) for q in everything.qos] == [("normal", 0, 1.0)]
    assert [(u.name, u.default_account, u.admin_level) for u in everything.users] == [
        ("root", "root", "Administrator")]


def test_ensure_defaults_is_idempotent(seeded) -> None:
    with seeded() as s, s.begin():
        store.ensure_defaults(s)
    with seeded() as s:
        assert len([a for a in store.list_associations(s) if a.account == "root" and not a.user]) == 1
        assert [q.name for q in store.list_qos(s)] == ["normal"]


def test_account_tree_and_users(seeded) -> None:
    with seeded() as s, s.begin():
        store.add_account(s, "science", description="sci", organization="org")
        sci = store.add_association(s, account="science", parent_account="root", shares=50, qos="normal")
        store.add_account(s, "physics")
        store.add_association(s, account="physics", parent_account="science", shares=None)
        store.add_user(s, "adam", default_account="physics")
        adam = store.add_association(s, account="physics", user="adam", parent_account="physics", shares=10,
                                     priority=3, qos="normal,high", default_qos="high")
    with seeded() as s:
        by_id = {a.id: a for a in store.list_associations(s)}
        assert by_id[sci].shares == 50
        assert by_id[adam] == store.Association(adam, "physics", "adam", "", "physics", 10, 3, "normal,high", "high")
        assert [a.account for a in store.list_associations(s) if a.shares is None] == ["physics"]
        assert {u.name: u for u in store.list_users(s)}["adam"] == store.User("adam", "physics", "None")
    with seeded() as s, s.begin():
        store.modify_account(s, "physics", description="phys")
        store.modify_user(s, "adam", admin_level="Operator")
        store.modify_association(s, adam, shares=None, qos="normal")
    with seeded() as s:
        assert {a.name: a.description for a in store.list_accounts(s)}["physics"] == "phys"
        assert [u.admin_level for u in store.list_users(s) if u.name == "adam"] == ["Operator"]
        assert [(a.shares, a.qos) for a in store.list_associations(s) if a.id == adam] == [(None, "normal")]
    with seeded() as s, s.begin():
        store.delete_user(s, "adam")
        store.delete_association(s, adam)
        store.delete_account(s, "physics")
    with seeded() as s:
        assert "adam" not in {u.name for u in store.list_users(s)}
        assert adam not in {a.id for a in store.list_associations(s)}
        assert "physics" not in {a.name for a in store.list_accounts(s)}


def test_one_live_association_per_account_user_partition(seeded) -> None:
    with seeded() as s, s.begin():
        first = store.add_association(s, account="root", user="eve", parent_account="root")
        store.add_association(s, account="root", user="eve", partition="gpu", parent_account="root")
    with pytest.raises(IntegrityError):
        with seeded() as s, s.begin():
            store.add_association(s, account="root", user="eve", parent_account="root")
    with seeded() as s, s.begin():
        store.delete_association(s, first)   # soft: the row stays, the slot frees up
        again = store.add_association(s, account="root", user="eve", parent_account="root")
    assert again != first
    with seeded() as s:
        assert [a.id for a in store.list_associations(s) if a.user == "eve" and not a.partition] == [again]


def test_qos_lifecycle_keeps_creation_order(seeded) -> None:
    with seeded() as s, s.begin():
        store.add_qos(s, "zlow", priority=10, usage_factor=0.5, flags="DenyOnLimit", max_wall=2880,
                      max_jobs_per_user=10, max_tres_per_user="cpu=8", grp_tres="cpu=100", grace_time=60,
                      preempt="", preempt_mode="requeue")
        store.add_qos(s, "ahigh", priority=100)
    with seeded() as s:
        qos = store.list_qos(s)
        assert [q.name for q in qos] == ["normal", "zlow", "ahigh"]
        low = qos[1]
        assert (low.usage_factor, low.max_wall, low.max_jobs_per_user, low.preempt_mode) == (0.5, 2880, 10, "requeue")
        assert qos[2].preempt_mode == "cluster" and qos[2].usage_threshold is None
    with seeded() as s, s.begin():
        store.modify_qos(s, "zlow", priority=20, max_wall=None)
        store.delete_qos(s, "ahigh")
    with seeded() as s:
        assert [(q.name, q.priority, q.max_wall) for q in store.list_qos(s)] == [("normal", 0, None),
                                                                             ("zlow", 20, None)]
    with seeded() as s, s.begin():
        store.add_qos(s, "ahigh", priority=5)   # a deleted name comes back fresh, last in order
    with seeded() as s:
        assert [(q.name, q.priority) for q in store.list_qos(s)][-1] == ("ahigh", 5)


def test_unknown_columns_are_refused(seeded) -> None:
    with seeded() as s, s.begin():
        with pytest.raises(UnknownColumnError):
            store.modify_qos(s, "normal", seq=7)
        with pytest.raises(UnknownColumnError):
            store.modify_association(s, 1, deleted=True)
        with pytest.raises(UnknownColumnError):
            store.modify_user(s, "root", shares=3)


def test_usage_upserts(seeded) -> None:
    with seeded() as s, s.begin():
        assoc = store.add_association(s, account="root", user="eve", parent_account="root")
        store.save_usage(s, [store.UsageRow(assoc, 10.0, {"cpu": 10.0}, 100.0)])
    with seeded() as s, s.begin():
        store.save_usage(s, [store.UsageRow(assoc, 5.5, {"cpu": 4.0, "gres/gpu": 1.5}, 200.0)])
    with seeded() as s:
        assert store.load_usage(s) == {assoc: store.UsageRow(assoc, 5.5, {"cpu": 4.0, "gres/gpu": 1.5}, 200.0)}
