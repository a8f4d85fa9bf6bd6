"""Give the reference Slurm's accounting database a long history, for `sacct` at scale.

    python3 bench/real_history.py add 88450      # copies of one finished job (+ its batch step)
    python3 bench/real_history.py remove         # deletes every row this script added

Real Slurm takes ~13 jobs a second here, so 100,000 finished jobs would take two hours to run;
instead this copies one COMPLETED job of the real cluster (`anchor`, the one
../shared/real-slurm/setup.sh starts) and its batch step straight into slurmdbd's MariaDB tables,
as ids 500001.. (so `remove` can find them), submitted evenly over the 30 days before today's
midnight. Run `remove` when done: the reference cluster is shared with golden captures.
"""
from __future__ import annotations

import subprocess
import sys

DB = "slurm_acct_db"
JOBS, STEPS = "anchor_job_table", "anchor_step_table"
FIRST_ID = 500000
SPAN = 30 * 86400


def sql(statement: str) -> str:
    done = subprocess.run(["mysql", "-N", DB, "-e", statement], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr[-600:])
    return done.stdout


def columns(table: str) -> list[str]:
    return [line.split("\t")[0] for line in sql(f"show columns from {table}").splitlines()]


def add(count: int) -> None:
    template = sql(f"select job_db_inx from {JOBS} where state=3 and id_array_job=0 and nodes_alloc=1 "
                   "order by job_db_inx desc limit 1").split()[0]
    start = f"(UNIX_TIMESTAMP(CURDATE()) - {SPAN}) + FLOOR(s.seq * {SPAN - 7200} / {count})"
    computed = {"id_job": f"{FIRST_ID} + s.seq", "time_submit": start, "time_eligible": start,
                "time_start": f"{start} + 5", "time_end": f"{start} + 65", "mod_time": "UNIX_TIMESTAMP()"}
    job_cols = [c for c in columns(JOBS) if c != "job_db_inx"]
    picked = [computed.get(c, f"t.`{c}`") for c in job_cols]
    sql(f"insert into {JOBS} ({','.join(f'`{c}`' for c in job_cols)}) select {','.join(picked)} "
        f"from {JOBS} t join seq_1_to_{count} s where t.job_db_inx={template}")
    step_cols = columns(STEPS)
    from_job = {"job_db_inx": "j.job_db_inx", "time_start": "j.time_start", "time_end": "j.time_end"}
    picked = [from_job.get(c, f"st.`{c}`") for c in step_cols]
    sql(f"insert into {STEPS} ({','.join(f'`{c}`' for c in step_cols)}) select {','.join(picked)} "
        f"from {JOBS} j join {STEPS} st on st.job_db_inx={template} where j.id_job > {FIRST_ID}")
    print(sql(f"select count(*) from {JOBS}").strip(), "jobs in the history")


def remove() -> None:
    sql(f"delete st from {STEPS} st join {JOBS} j on st.job_db_inx=j.job_db_inx where j.id_job > {FIRST_ID}")
    sql(f"delete from {JOBS} where id_job > {FIRST_ID}")
    print(sql(f"select count(*) from {JOBS}").strip(), "jobs in the history")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "add":
        add(int(sys.argv[2]))
    elif len(sys.argv) == 2 and sys.argv[1] == "remove":
        remove()
    else:
        raise SystemExit(__doc__)
