"""Job arrays: the pending remainder and the throttle of an array's pending record.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

An array is one `jobs` row (job_id = array_job_id) until its tasks start; each task that starts
is split off into a row of its own (array_task_id set). The pending row keeps the indices not
yet started in `array_task_str` (Slurm's printed form, e.g. '3-9,12') and `%N` in
`array_max_tasks` (0 = no throttle), so a restarted controller knows exactly what is left.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('array_task_str', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('array_max_tasks', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('array_max_tasks')
        batch_op.drop_column('array_task_str')
