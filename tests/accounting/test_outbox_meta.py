"""Outbox order and id stability; controller meta; nodes, partitions, events."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accounting import Event, NodeRow, store


def test_outbox_is_loaded_in_send_order(factory: sessionmaker[Session]) -> None:
    with factory() as s, s.begin():
        ids = [store.enqueue(s, f"n{i % 3}", "launch", bytes([i]), job_id=i, attempt=1, created_at=i) for i in range(10)]
    assert ids == sorted(ids) and len(set(ids)) == 10
    with factory() as s:
        outbox = store.load_active(s, finished_since=0.0).outbox
    assert [m.msg_id for m in outbox] == ids
    assert [m.payload for m in outbox] == [bytes([i]) for i in range(10)]
    assert (outbox[4].node, outbox[4].kind, outbox[4].job_id, outbox[4].attempt, outbox[4].created_at) == (
        "n1",
        "launch",
        4,
        1,
        4.0,
    )


def test_outbox_ids_are_never_reused_after_deletes(factory: sessionmaker[Session]) -> None:
    # agents drop duplicate msg_ids, so a reused id would swallow a new message
    with factory() as s, s.begin():
        first = store.enqueue(s, "n1", "launch", b"x")
        second = store.enqueue(s, "n1", "signal", b"y")
    with factory() as s, s.begin():
        store.delete_outbox(s, second)
        store.delete_outbox(s, first)
        store.delete_outbox(s, first)  # acknowledging twice is harmless
    with factory() as s, s.begin():
        third = store.enqueue(s, "n1", "kill", b"z")
    assert third > second > first
    with factory() as s:
        assert [m.msg_id for m in store.load_active(s, 0.0).outbox] == [third]


def test_meta_set_get_overwrite(factory: sessionmaker[Session]) -> None:
    with factory() as s, s.begin():
        assert store.get_meta(s, "epoch") is None
        store.set_meta(s, "epoch", "1")
        store.set_meta(s, "epoch", "2")
    with factory() as s:
        assert store.get_meta(s, "epoch") == "2"


def test_upsert_node_keeps_columns_not_mentioned(factory: sessionmaker[Session]) -> None:
    with factory() as s, s.begin():
        store.upsert_node(s, "n1", cpus=8, memory_mb=16000, gpus={"a100": 4}, registered=True, boot_time=5.0)
        store.upsert_node(s, "n1", state="DRAIN", reason="maint", reason_time=9.0, reason_uid=0)
        store.upsert_node(s, "n2")
    with factory() as s:
        n1, n2 = s.scalars(select(NodeRow).order_by(NodeRow.name)).all()
    assert (n1.cpus, n1.memory_mb, n1.gpus, n1.registered, n1.boot_time) == (8, 16000, {"a100": 4}, True, 5.0)
    assert (n1.state, n1.reason, n1.reason_time, n1.reason_uid) == ("DRAIN", "maint", 9.0, 0)
    assert (n2.state, n2.reason, n2.gpus, n2.registered, n2.last_heartbeat) == ("UP", "", None, False, None)


def test_partition_state_override_set_and_cleared(factory: sessionmaker[Session]) -> None:
    with factory() as s, s.begin():
        store.upsert_partition_state(s, "cpu", "DRAIN")
        store.upsert_partition_state(s, "cpu", None)
        store.upsert_partition_state(s, "gpu", "DOWN")
    with factory() as s:
        assert [(p.name, p.state) for p in store.load_active(s, 0.0).partitions] == [("cpu", None), ("gpu", "DOWN")]


def test_events_keep_their_detail(factory: sessionmaker[Session]) -> None:
    with factory() as s, s.begin():
        store.add_event(s, 7, "submitted", 1.0, partition="cpu", uid=1000)
        store.add_event(s, None, "node_down", 2.0, node="n3", reason="heartbeat lost")
    with factory() as s:
        events = s.scalars(select(Event).order_by(Event.id)).all()
    assert [(e.job_id, e.kind, e.time, e.detail) for e in events] == [
        (7, "submitted", 1.0, {"partition": "cpu", "uid": 1000}),
        (None, "node_down", 2.0, {"node": "n3", "reason": "heartbeat lost"}),
    ]
