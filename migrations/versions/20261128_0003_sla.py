"""SLA targets per service; record of nightly SLA exports

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base


revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sla_answer_seconds', sa.Float(), server_default='13',
                                      nullable=False))
        batch_op.add_column(sa.Column('sla_abandoned_pct', sa.Float(), server_default='3',
                                      nullable=False))
        batch_op.add_column(sa.Column('sla_resolved_pct', sa.Float(), server_default='75',
                                      nullable=False))
        batch_op.add_column(sa.Column('sla_service_level_seconds', sa.Integer(),
                                      server_default='20', nullable=False))
    op.create_table('sla_export_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('started_at', models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('files', sa.Text(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.CheckConstraint("status IN ('running', 'written', 'sent', 'failed')", name=op.f('ck_sla_export_runs_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_export_runs')),
    sa.UniqueConstraint('day', name=op.f('uq_sla_export_runs_day'))
    )


def downgrade() -> None:
    op.drop_table('sla_export_runs')
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.drop_column('sla_service_level_seconds')
        batch_op.drop_column('sla_resolved_pct')
        batch_op.drop_column('sla_abandoned_pct')
        batch_op.drop_column('sla_answer_seconds')
