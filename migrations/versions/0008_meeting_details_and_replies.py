"""Meetings people can attend and answer: a calendar's location, video link and agenda; replies to
the owner (outbox headers); how owners hear of answers; the invitation's personal message.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 22:20:00

"""
from alembic import op
import sqlalchemy as sa
import oneonone.db_types  # noqa: F401 - custom column types used by autogenerate


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('calendars', schema=None) as batch_op:
        batch_op.add_column(sa.Column('location', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('meeting_url', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('description', sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column('all_answered_at', oneonone.db_types.UTCDateTime(), nullable=True))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answer_notifications', sa.String(length=8), nullable=False,
                                      server_default='daily'))
        batch_op.add_column(sa.Column('answers_digest_at', oneonone.db_types.UTCDateTime(), nullable=True))
        batch_op.create_check_constraint(batch_op.f('ck_users_answer_notifications_known'),
                                         "answer_notifications IN ('each', 'daily', 'off')")
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('headers', sa.JSON(), nullable=True))
    with op.batch_alter_table('invitees', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message', sa.String(length=1000), nullable=True))


def downgrade():
    with op.batch_alter_table('invitees', schema=None) as batch_op:
        batch_op.drop_column('message')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('headers')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_users_answer_notifications_known'), type_='check')
        batch_op.drop_column('answers_digest_at')
        batch_op.drop_column('answer_notifications')
    with op.batch_alter_table('calendars', schema=None) as batch_op:
        batch_op.drop_column('all_answered_at')
        batch_op.drop_column('description')
        batch_op.drop_column('meeting_url')
        batch_op.drop_column('location')
