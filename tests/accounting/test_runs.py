"""Attempts and steps: the database allows at most one active run per job."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from accounting import JobRun, RunConflict, RunNotFound, Step, store

from .conftest import job_row

ALLOCATIONS = [{"node": "n1", "cpus": 2, "memory_mb": 1000, "gpus": [0, 1]}]


@pytest.fixture
def one_job(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    with factory() as s, s.begin():
        store.insert_jobs(s, [job_row(1), job_row(2)])
    return factory


def test_second_active_run_is_refused_and_the_transaction_goes_on(one_job: sessionmaker[Session]) -> None:
    with one_job() as s, s.begin():
        store.add_run(s, 1, 1, state="launching", nodes="n1", allocations=ALLOCATIONS, start_time=5.0)
        with pytest.raises(RunConflict):
            store.add_run(s, 1, 2, state="running")
        # the refusal rolled back only its savepoint: this transaction still works
        store.add_run(s, 2, 1, state="running")
    with one_job() as s:
        runs = s.scalars(select(JobRun).order_by(JobRun.job_id, JobRun.attempt)).all()
    assert [(r.job_id, r.attempt, r.state) for r in runs] == [(1, 1, "launching"), (2, 1, "running")]
    assert runs[0].allocations == ALLOCATIONS


def test_the_unique_index_itself_rejects_a_second_active_run(one_job: sessionmaker[Session]) -> None:
    # not only our helper: a plain ORM insert is refused by the database
    with pytest.raises(IntegrityError), one_job() as s, s.begin():
        s.add_all([JobRun(job_id=1, attempt=1, state="running"), JobRun(job_id=1, attempt=2, state="launching")])


def test_a_new_attempt_may_start_once_the_old_one_ended(one_job: sessionmaker[Session]) -> None:
    with one_job() as s, s.begin():
        store.add_run(s, 1, 1, state="running")
        store.update_run(s, 1, 1, state="ended", outcome="node_fail", end_time=9.0)
        store.add_run(s, 1, 2, state="launching")
        with pytest.raises(RunConflict):  # an ended run cannot come back while attempt 2 is active
            store.update_run(s, 1, 1, state="running")
        with pytest.raises(RunConflict):  # nor can an attempt number be used twice
            store.add_run(s, 1, 2, state="ended")
    with one_job() as s:
        active = store.load_active(s, finished_since=0.0)
    assert [(r.job_id, r.attempt) for r in active.runs] == [(1, 2)]


def test_run_for_an_unknown_job_is_refused(one_job: sessionmaker[Session]) -> None:
    with one_job() as s, s.begin(), pytest.raises(RunConflict):
        store.add_run(s, 404, 1, state="launching")


def test_update_run_of_unknown_attempt(one_job: sessionmaker[Session]) -> None:
    with one_job() as s, s.begin(), pytest.raises(RunNotFound):
        store.update_run(s, 1, 7, exit_code=0)


def test_upsert_step_inserts_then_updates(one_job: sessionmaker[Session]) -> None:
    with one_job() as s, s.begin():
        store.add_run(s, 1, 1, state="running")
        store.upsert_step(s, 1, 1, "batch", name="batch", start_time=1.0, nodes="n1", num_cpus=2)
        store.upsert_step(s, 1, 1, "0", name="python", start_time=2.0)
    with one_job() as s, s.begin():
        store.upsert_step(s, 1, 1, "batch", state="COMPLETED", end_time=3.0, exit_code=0, exit_signal=0)
    with one_job() as s:
        steps = {step.step_id: step for step in s.scalars(select(Step))}
    batch = steps["batch"]
    assert (batch.name, batch.state, batch.start_time, batch.end_time, batch.num_cpus) == (
        "batch",
        "COMPLETED",
        1.0,
        3.0,
        2,
    )
    assert steps["0"].state == "RUNNING"
