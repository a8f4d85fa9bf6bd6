"""Job ids: consecutive, monotonic, never reused, unique across concurrent controllers."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session, sessionmaker

from accounting import AccountingError, Job, make_engine, session_factory, store

from .conftest import job_row


def test_first_allocation_starts_at_first_job_id(factory: sessionmaker[Session]) -> None:
    with factory() as s, s.begin():
        assert store.allocate_job_ids(s, 3, first_job_id=100) == [100, 101, 102]
        assert store.allocate_job_ids(s, 1, first_job_id=100) == [103]
        assert store.allocate_job_ids(s, 0) == []


def test_ids_are_never_reused_after_deletes_or_rollbacks(factory: sessionmaker[Session]) -> None:
    with factory() as s, s.begin():
        ids = store.allocate_job_ids(s, 2)
        store.insert_jobs(s, [job_row(i) for i in ids])
    with factory() as s, s.begin():
        s.execute(delete(Job))
    with pytest.raises(RuntimeError), factory() as s, s.begin():
        assert store.allocate_job_ids(s, 5) == [3, 4, 5, 6, 7]
        raise RuntimeError("roll back")
    with factory() as s, s.begin():
        # the rolled-back reservation is undone too, but never below what was committed
        assert store.allocate_job_ids(s, 1) == [3]


def test_raising_first_job_id_moves_the_counter_but_lowering_does_not(factory: sessionmaker[Session]) -> None:
    with factory() as s, s.begin():
        assert store.allocate_job_ids(s, 2, first_job_id=1) == [1, 2]
        assert store.allocate_job_ids(s, 2, first_job_id=1000) == [1000, 1001]
        assert store.allocate_job_ids(s, 1, first_job_id=1) == [1002]


def test_negative_count_is_refused(factory: sessionmaker[Session]) -> None:
    with factory() as s, s.begin(), pytest.raises(AccountingError):
        store.allocate_job_ids(s, -1)


def test_concurrent_allocators_never_share_an_id(engine: Engine, db_url: str) -> None:
    # Four "controllers", each with its own engine and connection, race from an absent
    # counter row (so the create-on-first-use path races as well).
    threads_count, rounds = 4, 25
    results: list[list[int]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads_count)

    def controller(worker: int) -> None:
        own_engine = make_engine(db_url)
        try:
            own_factory = session_factory(own_engine)
            barrier.wait()
            for round_no in range(rounds):
                count = 1 + (worker + round_no) % 3
                with own_factory() as s, s.begin():
                    ids = store.allocate_job_ids(s, count, first_job_id=10)
                with lock:
                    results.append(ids)
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)
        finally:
            own_engine.dispose()

    threads = [threading.Thread(target=controller, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(results) == threads_count * rounds
    every_id = [job_id for ids in results for job_id in ids]
    assert len(every_id) == len(set(every_id)), "an id was handed out twice"
    for ids in results:
        assert ids == list(range(ids[0], ids[0] + len(ids))), "a reservation is not consecutive"
    # nothing was lost either: together they cover a contiguous range from first_job_id
    assert sorted(every_id) == list(range(10, 10 + len(every_id)))
