"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-28 12:36:48.358403
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base


revision: str = '0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('agents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=32), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('profile', sa.String(length=8), nullable=False),
    sa.Column('sip_ha1', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('state_since', models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('pause_reason', sa.String(length=100), nullable=True),
    sa.Column('last_offered_at', models.base.UtcDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("profile IN ('junior', 'expert', 'senior')", name=op.f('ck_agents_profile')),
    sa.CheckConstraint("state IN ('logged_out', 'available', 'ringing', 'on_call', 'wrapup', 'paused')", name=op.f('ck_agents_state')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agents')),
    sa.UniqueConstraint('username', name=op.f('uq_agents_username'))
    )
    op.create_table('services',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('mode', sa.String(length=8), nullable=False),
    sa.Column('mode_until', models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('mailbox_email', sa.String(length=254), nullable=True),
    sa.Column('not_emergency_notice', sa.Boolean(), nullable=False),
    sa.Column('hours_before_queue', sa.Boolean(), nullable=False),
    sa.Column('abandon_threshold_seconds', sa.Integer(), nullable=False),
    sa.CheckConstraint("mode IN ('auto', 'open', 'closed')", name=op.f('ck_services_mode')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_services')),
    sa.UniqueConstraint('slug', name=op.f('uq_services_slug'))
    )
    op.create_table('agent_services',
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_agent_services_agent_id_agents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_agent_services_service_id_services'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('agent_id', 'service_id', name=op.f('pk_agent_services'))
    )
    op.create_table('agent_skills',
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('skill', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_agent_skills_agent_id_agents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('agent_id', 'skill', name=op.f('pk_agent_skills'))
    )
    op.create_table('closures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=True),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_closures_service_id_services'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_closures')),
    sa.UniqueConstraint('service_id', 'day', name=op.f('uq_closures_service_id'))
    )
    op.create_table('prompts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('sound', sa.String(length=200), nullable=True),
    sa.Column('updated_at', models.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_prompts_service_id_services'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prompts')),
    sa.UniqueConstraint('service_id', 'kind', name=op.f('uq_prompts_service_id'))
    )
    op.create_table('queues',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('strategy', sa.String(length=16), nullable=False),
    sa.Column('rings_per_agent', sa.Integer(), nullable=False),
    sa.Column('wait_limit_seconds', sa.Integer(), nullable=False),
    sa.Column('wrapup_seconds', sa.Integer(), nullable=False),
    sa.Column('announce_position', sa.Boolean(), nullable=False),
    sa.Column('announce_every_seconds', sa.Integer(), nullable=False),
    sa.CheckConstraint("strategy IN ('longest_idle', 'ring_all', 'round_robin')", name=op.f('ck_queues_strategy')),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_queues_service_id_services'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queues')),
    sa.UniqueConstraint('slug', name=op.f('uq_queues_slug'))
    )
    op.create_table('service_dids',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('did', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_service_dids_service_id_services'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_dids')),
    sa.UniqueConstraint('did', name=op.f('uq_service_dids_did'))
    )
    op.create_table('service_windows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('opens', sa.Time(), nullable=False),
    sa.Column('closes', sa.Time(), nullable=False),
    sa.CheckConstraint('opens < closes', name=op.f('ck_service_windows_interval')),
    sa.CheckConstraint('weekday BETWEEN 0 AND 6', name=op.f('ck_service_windows_weekday')),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_service_windows_service_id_services'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_windows'))
    )
    op.create_table('calls',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=True),
    sa.Column('did', sa.String(length=20), nullable=False),
    sa.Column('caller_number', sa.String(length=32), nullable=False),
    sa.Column('caller_name', sa.String(length=80), nullable=False),
    sa.Column('channel_id', sa.String(length=64), nullable=False),
    sa.Column('arrived_at', models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('pbx_answered_at', models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('queue_entered_at', models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('queue_id', sa.Integer(), nullable=True),
    sa.Column('queue_exit', sa.String(length=16), nullable=True),
    sa.Column('answered_at', models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('transferred_at', models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('hung_up_by', sa.String(length=8), nullable=True),
    sa.Column('hangup_cause', sa.Integer(), nullable=True),
    sa.Column('ivr_path', sa.String(length=64), nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=True),
    sa.Column('in_hours', sa.Boolean(), nullable=True),
    sa.Column('flow_state', sa.String(length=24), nullable=False),
    sa.Column('overflow', sa.Boolean(), nullable=False),
    sa.Column('outcome', sa.String(length=24), nullable=True),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('resolution', sa.String(length=16), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.CheckConstraint("hung_up_by IS NULL OR hung_up_by IN ('caller', 'agent', 'referent', 'system')", name=op.f('ck_calls_hung_up_by')),
    sa.CheckConstraint("outcome IS NULL OR outcome IN ('answered', 'abandoned', 'abandoned_short', 'voicemail', 'ivr_only', 'out_of_hours', 'office_answered', 'hangup_before_queue', 'failed')", name=op.f('ck_calls_outcome')),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_calls_agent_id_agents'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['queue_id'], ['queues.id'], name=op.f('fk_calls_queue_id_queues'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_calls_service_id_services'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calls'))
    )
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calls_channel_id'), ['channel_id'], unique=False)
        batch_op.create_index('ix_calls_service_arrived', ['service_id', 'arrived_at'], unique=False)

    op.create_table('menus',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('prompt_kind', sa.String(length=32), nullable=False),
    sa.Column('timeout_seconds', sa.Integer(), nullable=False),
    sa.Column('max_invalid', sa.Integer(), nullable=False),
    sa.Column('default_queue_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['default_queue_id'], ['queues.id'], name=op.f('fk_menus_default_queue_id_queues'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['parent_id'], ['menus.id'], name=op.f('fk_menus_parent_id_menus'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_menus_service_id_services'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_menus'))
    )
    op.create_table('office_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('endpoint', sa.String(length=32), nullable=False),
    sa.Column('sip_ha1', sa.String(length=32), nullable=False),
    sa.Column('rings', sa.Integer(), nullable=False),
    sa.Column('queue_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['queue_id'], ['queues.id'], name=op.f('fk_office_lines_queue_id_queues'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_office_lines_service_id_services'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_office_lines')),
    sa.UniqueConstraint('endpoint', name=op.f('uq_office_lines_endpoint')),
    sa.UniqueConstraint('number', name=op.f('uq_office_lines_number'))
    )
    op.create_table('call_offers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.String(length=36), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('channel_id', sa.String(length=64), nullable=False),
    sa.Column('ring_started_at', models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ring_stopped_at', models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('result', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_call_offers_agent_id_agents'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_call_offers_call_id_calls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_offers')),
    sa.UniqueConstraint('channel_id', name=op.f('uq_call_offers_channel_id'))
    )
    with op.batch_alter_table('call_offers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_offers_call_id'), ['call_id'], unique=False)

    op.create_table('menu_options',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('menu_id', sa.Integer(), nullable=False),
    sa.Column('digit', sa.String(length=1), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('queue_id', sa.Integer(), nullable=True),
    sa.Column('skill', sa.String(length=64), nullable=True),
    sa.Column('prompt_kind', sa.String(length=32), nullable=True),
    sa.Column('transfer_number', sa.String(length=32), nullable=True),
    sa.Column('submenu_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("action IN ('message', 'queue', 'voicemail', 'transfer', 'submenu')", name=op.f('ck_menu_options_action')),
    sa.CheckConstraint("digit IN ('0','1','2','3','4','5','6','7','8','9','*','#')", name=op.f('ck_menu_options_digit')),
    sa.ForeignKeyConstraint(['menu_id'], ['menus.id'], name=op.f('fk_menu_options_menu_id_menus'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['queue_id'], ['queues.id'], name=op.f('fk_menu_options_queue_id_queues'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['submenu_id'], ['menus.id'], name=op.f('fk_menu_options_submenu_id_menus'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_menu_options')),
    sa.UniqueConstraint('menu_id', 'digit', name=op.f('uq_menu_options_menu_id'))
    )
    op.create_table('voicemails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.String(length=36), nullable=True),
    sa.Column('service_id', sa.Integer(), nullable=True),
    sa.Column('caller_number', sa.String(length=32), nullable=False),
    sa.Column('recorded_at', models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('audio_path', sa.String(length=400), nullable=False),
    sa.Column('duration_seconds', sa.Integer(), nullable=True),
    sa.Column('callback_requested', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('handled_at', models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('handled_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_voicemails_call_id_calls'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['handled_by'], ['agents.id'], name=op.f('fk_voicemails_handled_by_agents'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_voicemails_service_id_services'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voicemails'))
    )
    with op.batch_alter_table('voicemails', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voicemails_call_id'), ['call_id'], unique=False)

    op.create_table('notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('sound', sa.String(length=200), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('menu_option_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('valid_from <= valid_until', name=op.f('ck_notices_validity')),
    sa.ForeignKeyConstraint(['menu_option_id'], ['menu_options.id'], name=op.f('fk_notices_menu_option_id_menu_options'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_notices_service_id_services'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices'))
    )


def downgrade() -> None:
    op.drop_table('notices')
    with op.batch_alter_table('voicemails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voicemails_call_id'))

    op.drop_table('voicemails')
    op.drop_table('menu_options')
    with op.batch_alter_table('call_offers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_offers_call_id'))

    op.drop_table('call_offers')
    op.drop_table('office_lines')
    op.drop_table('menus')
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index('ix_calls_service_arrived')
        batch_op.drop_index(batch_op.f('ix_calls_channel_id'))

    op.drop_table('calls')
    op.drop_table('service_windows')
    op.drop_table('service_dids')
    op.drop_table('queues')
    op.drop_table('prompts')
    op.drop_table('closures')
    op.drop_table('agent_skills')
    op.drop_table('agent_services')
    op.drop_table('services')
    op.drop_table('agents')
