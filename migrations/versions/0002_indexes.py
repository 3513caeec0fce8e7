"""Indexes for the calendar list and for an invitee's picks in a calendar.

Reviewed by hand: each new composite index makes the single-column one it starts with redundant.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 13:13:54.087866

"""
from alembic import op
import sqlalchemy as sa
import oneonone.db_types  # noqa: F401 - custom column types used by autogenerate


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('calendars', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendars_owner_id'))
        batch_op.create_index('ix_calendars_owner_id_start_date', ['owner_id', 'start_date'], unique=False)

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_calendar_id'))
        batch_op.create_index('ix_events_calendar_id_contact_id', ['calendar_id', 'contact_id'], unique=False)



def downgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_calendar_id_contact_id')
        batch_op.create_index(batch_op.f('ix_events_calendar_id'), ['calendar_id'], unique=False)

    with op.batch_alter_table('calendars', schema=None) as batch_op:
        batch_op.drop_index('ix_calendars_owner_id_start_date')
        batch_op.create_index(batch_op.f('ix_calendars_owner_id'), ['owner_id'], unique=False)

