"""Initial schema: users, API tokens, contacts, calendars, timeslots, invitees, events, outbox.

Reviewed by hand: every invariant of the data model is a named constraint here.

Revision ID: 0001
Revises: 
Create Date: 2026-11-29 11:49:40.685384

"""
from alembic import op
import sqlalchemy as sa

from oneonone.db_types import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('outbox_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=True),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', UTCDateTime(), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('claim_expires_at', UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('sent_at', UTCDateTime(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name=op.f('ck_outbox_messages_status_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_messages'))
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_messages_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=120), nullable=False),
    sa.Column('first_name', sa.String(length=120), nullable=False),
    sa.Column('last_name', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('feed_token_hash', sa.String(length=64), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email')),
    sa.UniqueConstraint('feed_token_hash', name=op.f('uq_users_feed_token_hash')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('last_used_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('calendars',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('response_deadline', UTCDateTime(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.CheckConstraint('start_date <= end_date', name=op.f('ck_calendars_window_order')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_calendars_owner_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendars'))
    )
    with op.batch_alter_table('calendars', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendars_owner_id'), ['owner_id'], unique=False)

    op.create_table('contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('first_name', sa.String(length=120), nullable=False),
    sa.Column('last_name', sa.String(length=120), nullable=False),
    sa.Column('email', sa.String(length=120), nullable=False),
    sa.Column('image_filename', sa.String(length=64), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_contacts_owner_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts')),
    sa.UniqueConstraint('owner_id', 'email', name=op.f('uq_contacts_owner_id_email'))
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contacts_owner_id'), ['owner_id'], unique=False)

    op.create_table('invitees',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('calendar_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('invited_at', UTCDateTime(), nullable=False),
    sa.Column('responded_at', UTCDateTime(), nullable=True),
    sa.Column('reminded_at', UTCDateTime(), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('ics_sequence', sa.Integer(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['calendar_id'], ['calendars.id'], name=op.f('fk_invitees_calendar_id_calendars'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_invitees_contact_id_contacts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitees')),
    sa.UniqueConstraint('calendar_id', 'contact_id', name=op.f('uq_invitees_calendar_id_contact_id')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_invitees_token_hash'))
    )
    with op.batch_alter_table('invitees', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitees_contact_id'), ['contact_id'], unique=False)

    op.create_table('timeslots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('calendar_id', sa.Integer(), nullable=False),
    sa.Column('start_time', UTCDateTime(), nullable=False),
    sa.Column('end_time', UTCDateTime(), nullable=False),
    sa.Column('high_priority', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.CheckConstraint('end_time > start_time', name=op.f('ck_timeslots_ends_after_start')),
    sa.ForeignKeyConstraint(['calendar_id'], ['calendars.id'], name=op.f('fk_timeslots_calendar_id_calendars'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timeslots')),
    sa.UniqueConstraint('id', 'calendar_id', name=op.f('uq_timeslots_id_calendar_id'))
    )
    with op.batch_alter_table('timeslots', schema=None) as batch_op:
        batch_op.create_index('ix_timeslots_calendar_id_start_time', ['calendar_id', 'start_time'], unique=False)

    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('calendar_id', sa.Integer(), nullable=False),
    sa.Column('timeslot_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('confirmed', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('preference', sa.String(length=16), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.CheckConstraint("preference IN ('preferred', 'if_need_be')", name=op.f('ck_events_preference_known')),
    sa.ForeignKeyConstraint(['calendar_id', 'contact_id'], ['invitees.calendar_id', 'invitees.contact_id'], name=op.f('fk_events_calendar_id_contact_id_invitees'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['timeslot_id', 'calendar_id'], ['timeslots.id', 'timeslots.calendar_id'], name=op.f('fk_events_timeslot_id_calendar_id_timeslots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
    sa.UniqueConstraint('timeslot_id', 'contact_id', name=op.f('uq_events_timeslot_id_contact_id'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_calendar_id'), ['calendar_id'], unique=False)
        batch_op.create_index('ix_events_contact_id', ['contact_id'], unique=False)
        batch_op.create_index('uq_events_confirmed_invitee', ['calendar_id', 'contact_id'], unique=True, sqlite_where=sa.text('confirmed'), postgresql_where=sa.text('confirmed'))
        batch_op.create_index('uq_events_confirmed_timeslot', ['timeslot_id'], unique=True, sqlite_where=sa.text('confirmed'), postgresql_where=sa.text('confirmed'))

    op.create_table('retired_links',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('invitee_id', sa.Integer(), nullable=False),
    sa.Column('retired_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['invitee_id'], ['invitees.id'], name=op.f('fk_retired_links_invitee_id_invitees'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_retired_links'))
    )
    with op.batch_alter_table('retired_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_retired_links_invitee_id'), ['invitee_id'], unique=False)



def downgrade():
    with op.batch_alter_table('retired_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_retired_links_invitee_id'))

    op.drop_table('retired_links')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('uq_events_confirmed_timeslot', sqlite_where=sa.text('confirmed'), postgresql_where=sa.text('confirmed'))
        batch_op.drop_index('uq_events_confirmed_invitee', sqlite_where=sa.text('confirmed'), postgresql_where=sa.text('confirmed'))
        batch_op.drop_index('ix_events_contact_id')
        batch_op.drop_index(batch_op.f('ix_events_calendar_id'))

    op.drop_table('events')
    with op.batch_alter_table('timeslots', schema=None) as batch_op:
        batch_op.drop_index('ix_timeslots_calendar_id_start_time')

    op.drop_table('timeslots')
    with op.batch_alter_table('invitees', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitees_contact_id'))

    op.drop_table('invitees')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contacts_owner_id'))

    op.drop_table('contacts')
    with op.batch_alter_table('calendars', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendars_owner_id'))

    op.drop_table('calendars')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))

    op.drop_table('api_tokens')
    op.drop_table('users')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_status_next_attempt_at')

    op.drop_table('outbox_messages')
