"""Accounts, users, associations, QOS and decayed association usage; root and QOS 'normal'.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

Frozen once released. Like 0001 it does not import accounting.models.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

LIVE = "deleted = false"


def upgrade() -> None:
    op.create_table('accounts',
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('description', sa.String(), server_default='', nullable=False),
    sa.Column('organization', sa.String(), server_default='', nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_accounts'))
    )
    op.create_table('users',
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('default_account', sa.String(), server_default='', nullable=False),
    sa.Column('admin_level', sa.String(), server_default='None', nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_users'))
    )
    op.create_table('associations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('account', sa.String(), nullable=False),
    sa.Column('user', sa.String(), server_default='', nullable=False),
    sa.Column('partition', sa.String(), server_default='', nullable=False),
    sa.Column('parent_account', sa.String(), server_default='', nullable=False),
    sa.Column('shares', sa.Integer(), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=True),
    sa.Column('qos', sa.String(), server_default='', nullable=False),
    sa.Column('default_qos', sa.String(), server_default='', nullable=False),
    sa.Column('deleted', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_associations'))
    )
    op.create_index('uq_associations_live', 'associations', ['account', 'user', 'partition'], unique=True,
                    sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE))
    op.create_table('qos',
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('description', sa.String(), server_default='', nullable=False),
    sa.Column('priority', sa.Integer(), server_default='0', nullable=False),
    sa.Column('usage_factor', sa.Float(), server_default='1.0', nullable=False),
    sa.Column('usage_threshold', sa.Float(), nullable=True),
    sa.Column('flags', sa.String(), server_default='', nullable=False),
    sa.Column('grace_time', sa.Integer(), server_default='0', nullable=False),
    sa.Column('preempt', sa.String(), server_default='', nullable=False),
    sa.Column('preempt_mode', sa.String(), server_default='cluster', nullable=False),
    sa.Column('max_wall', sa.Integer(), nullable=True),
    sa.Column('max_jobs_per_user', sa.Integer(), nullable=True),
    sa.Column('max_tres_per_user', sa.String(), server_default='', nullable=False),
    sa.Column('grp_tres', sa.String(), server_default='', nullable=False),
    sa.Column('deleted', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('seq', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_qos'))
    )
    op.create_table('assoc_usage',
    sa.Column('assoc_id', sa.Integer(), nullable=False),
    sa.Column('usage_raw', sa.Float(), server_default='0', nullable=False),
    sa.Column('usage_tres', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['assoc_id'], ['associations.id'],
                            name=op.f('fk_assoc_usage_assoc_id_associations')),
    sa.PrimaryKeyConstraint('assoc_id', name=op.f('pk_assoc_usage'))
    )
    # what slurmdbd creates with a cluster: the root account, its association, QOS 'normal'
    op.execute("INSERT INTO accounts (name, description, organization) "
               "VALUES ('root', 'default root account', 'root')")
    op.execute("INSERT INTO associations (account, \"user\", partition, parent_account, shares, qos) "
               "VALUES ('root', '', '', '', 1, 'normal')")
    op.execute("INSERT INTO users (name, default_account, admin_level) VALUES ('root', 'root', 'Administrator')")
    op.execute("INSERT INTO associations (account, \"user\", partition, parent_account, shares, qos) "
               "VALUES ('root', 'root', '', 'root', 1, 'normal')")
    op.execute("INSERT INTO qos (name, description, priority, usage_factor, seq) "
               "VALUES ('normal', 'Normal QOS default', 0, 1.0, 1)")


def downgrade() -> None:
    op.drop_table('assoc_usage')
    op.drop_table('qos')
    op.drop_index('uq_associations_live', table_name='associations')
    op.drop_table('associations')
    op.drop_table('users')
    op.drop_table('accounts')
