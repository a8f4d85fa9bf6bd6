"""Initial schema: jobs, job_runs, steps, nodes, partitions, events, outbox, counters, controller_meta.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-28

Frozen once released: later changes go in new revisions. It deliberately does not import
accounting.models (models move on; a migration must describe the schema of its own day).
tests/accounting/test_migrations.py checks that head matches the models.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('controller_meta',
    sa.Column('key', sa.String(), nullable=False),
    sa.Column('value', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_controller_meta'))
    )
    op.create_table('counters',
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_counters'))
    )
    op.create_table('events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('job_id', sa.BigInteger(), nullable=True),
    sa.Column('time', sa.Float(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    op.create_index(op.f('ix_events_job_id'), 'events', ['job_id'], unique=False)
    op.create_table('jobs',
    sa.Column('job_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('idempotency_key', sa.String(), nullable=True),
    sa.Column('uid', sa.Integer(), nullable=False),
    sa.Column('gid', sa.Integer(), nullable=False),
    sa.Column('user_name', sa.String(), nullable=False),
    sa.Column('group_name', sa.String(), server_default='', nullable=False),
    sa.Column('name', sa.String(), server_default='', nullable=False),
    sa.Column('partition', sa.String(), server_default='', nullable=False),
    sa.Column('req_partitions', sa.String(), server_default='', nullable=False),
    sa.Column('account', sa.String(), server_default='', nullable=False),
    sa.Column('qos', sa.String(), server_default='', nullable=False),
    sa.Column('state', sa.String(), server_default='PENDING', nullable=False),
    sa.Column('reason', sa.String(), server_default='None', nullable=False),
    sa.Column('spec', sa.JSON(), nullable=False),
    sa.Column('script', sa.Text(), server_default='', nullable=False),
    sa.Column('submit_time', sa.Float(), nullable=False),
    sa.Column('eligible_time', sa.Float(), nullable=True),
    sa.Column('start_time', sa.Float(), nullable=True),
    sa.Column('end_time', sa.Float(), nullable=True),
    sa.Column('time_limit_min', sa.Integer(), nullable=True),
    sa.Column('priority', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('nice', sa.Integer(), server_default='0', nullable=False),
    sa.Column('held', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('hold_reason', sa.String(), server_default='', nullable=False),
    sa.Column('exit_code', sa.Integer(), server_default='0', nullable=False),
    sa.Column('exit_signal', sa.Integer(), server_default='0', nullable=False),
    sa.Column('derived_exit_code', sa.Integer(), server_default='0', nullable=False),
    sa.Column('nodes', sa.String(), server_default='', nullable=False),
    sa.Column('num_nodes', sa.Integer(), server_default='1', nullable=False),
    sa.Column('num_cpus', sa.Integer(), server_default='1', nullable=False),
    sa.Column('num_tasks', sa.Integer(), server_default='1', nullable=False),
    sa.Column('req_tres', sa.String(), server_default='', nullable=False),
    sa.Column('alloc_tres', sa.String(), server_default='', nullable=False),
    sa.Column('work_dir', sa.String(), server_default='', nullable=False),
    sa.Column('stdout', sa.String(), server_default='', nullable=False),
    sa.Column('stderr', sa.String(), server_default='', nullable=False),
    sa.Column('restarts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('requeue', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('cancelled_by', sa.Integer(), nullable=True),
    sa.Column('current_attempt', sa.Integer(), server_default='0', nullable=False),
    sa.Column('array_job_id', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('array_task_id', sa.Integer(), nullable=True),
    sa.Column('dependency', sa.String(), server_default='', nullable=False),
    sa.Column('comment', sa.String(), server_default='', nullable=False),
    sa.Column('submit_line', sa.Text(), server_default='', nullable=False),
    sa.PrimaryKeyConstraint('job_id', name=op.f('pk_jobs')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_jobs_idempotency_key'))
    )
    op.create_index('ix_jobs_array_job_id', 'jobs', ['array_job_id'], unique=False)
    op.create_index('ix_jobs_eligible_time', 'jobs', ['eligible_time'], unique=False)
    op.create_index('ix_jobs_end_time', 'jobs', ['end_time'], unique=False)
    op.create_index('ix_jobs_eligible_span', 'jobs', [sa.text('(end_time - eligible_time)')], unique=False)
    op.create_index('ix_jobs_state', 'jobs', ['state'], unique=False)
    op.create_index('ix_jobs_submit_time', 'jobs', ['submit_time'], unique=False)
    op.create_index('ix_jobs_user_name', 'jobs', ['user_name'], unique=False)
    op.create_table('nodes',
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('state', sa.String(), server_default='UP', nullable=False),
    sa.Column('reason', sa.String(), server_default='', nullable=False),
    sa.Column('reason_time', sa.Float(), nullable=True),
    sa.Column('reason_uid', sa.Integer(), nullable=True),
    sa.Column('cpus', sa.Integer(), server_default='0', nullable=False),
    sa.Column('memory_mb', sa.Integer(), server_default='0', nullable=False),
    sa.Column('gpus', sa.JSON(none_as_null=True), nullable=True),
    sa.Column('last_heartbeat', sa.Float(), nullable=True),
    sa.Column('boot_time', sa.Float(), nullable=True),
    sa.Column('registered', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_nodes'))
    )
    op.create_table('outbox',
    sa.Column('msg_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('node', sa.String(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('job_id', sa.BigInteger(), nullable=True),
    sa.Column('attempt', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.Float(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('msg_id', name=op.f('pk_outbox')),
    sqlite_autoincrement=True
    )
    op.create_index(op.f('ix_outbox_node'), 'outbox', ['node'], unique=False)
    op.create_table('partitions',
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('state', sa.String(), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_partitions'))
    )
    op.create_table('job_runs',
    sa.Column('job_id', sa.BigInteger(), nullable=False),
    sa.Column('attempt', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('state', sa.String(), server_default='launching', nullable=False),
    sa.Column('nodes', sa.String(), server_default='', nullable=False),
    sa.Column('allocations', sa.JSON(), nullable=False),
    sa.Column('batch_host', sa.String(), server_default='', nullable=False),
    sa.Column('start_time', sa.Float(), nullable=True),
    sa.Column('end_time', sa.Float(), nullable=True),
    sa.Column('outcome', sa.String(), nullable=True),
    sa.Column('exit_code', sa.Integer(), nullable=True),
    sa.Column('exit_signal', sa.Integer(), nullable=True),
    sa.Column('max_rss_kb', sa.BigInteger(), nullable=True),
    sa.Column('cpu_seconds', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.job_id'], name=op.f('fk_job_runs_job_id_jobs')),
    sa.PrimaryKeyConstraint('job_id', 'attempt', name=op.f('pk_job_runs'))
    )
    op.create_index('uq_job_runs_one_active', 'job_runs', ['job_id'], unique=True, sqlite_where=sa.text("state IN ('launching', 'running')"), postgresql_where=sa.text("state IN ('launching', 'running')"))
    op.create_table('steps',
    sa.Column('job_id', sa.BigInteger(), nullable=False),
    sa.Column('attempt', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('step_id', sa.String(), nullable=False),
    sa.Column('name', sa.String(), server_default='', nullable=False),
    sa.Column('state', sa.String(), server_default='RUNNING', nullable=False),
    sa.Column('start_time', sa.Float(), nullable=True),
    sa.Column('end_time', sa.Float(), nullable=True),
    sa.Column('exit_code', sa.Integer(), nullable=True),
    sa.Column('exit_signal', sa.Integer(), nullable=True),
    sa.Column('nodes', sa.String(), server_default='', nullable=False),
    sa.Column('num_tasks', sa.Integer(), server_default='1', nullable=False),
    sa.Column('num_cpus', sa.Integer(), server_default='1', nullable=False),
    sa.Column('alloc_tres', sa.String(), server_default='', nullable=False),
    sa.Column('max_rss_kb', sa.BigInteger(), nullable=True),
    sa.Column('cpu_seconds', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.job_id'], name=op.f('fk_steps_job_id_jobs')),
    sa.PrimaryKeyConstraint('job_id', 'attempt', 'step_id', name=op.f('pk_steps'))
    )


def downgrade() -> None:
    op.drop_table('steps')
    op.drop_index('uq_job_runs_one_active', table_name='job_runs', sqlite_where=sa.text("state IN ('launching', 'running')"), postgresql_where=sa.text("state IN ('launching', 'running')"))
    op.drop_table('job_runs')
    op.drop_table('partitions')
    op.drop_index(op.f('ix_outbox_node'), table_name='outbox')
    op.drop_table('outbox')
    op.drop_table('nodes')
    op.drop_index('ix_jobs_user_name', table_name='jobs')
    op.drop_index('ix_jobs_submit_time', table_name='jobs')
    op.drop_index('ix_jobs_state', table_name='jobs')
    op.drop_index('ix_jobs_end_time', table_name='jobs')
    op.drop_index('ix_jobs_eligible_span', table_name='jobs')
    op.drop_index('ix_jobs_eligible_time', table_name='jobs')
    op.drop_index('ix_jobs_array_job_id', table_name='jobs')
    op.drop_table('jobs')
    op.drop_index(op.f('ix_events_job_id'), table_name='events')
    op.drop_table('events')
    op.drop_table('counters')
    op.drop_table('controller_meta')
