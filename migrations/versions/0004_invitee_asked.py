"""Invitees remember the times the owner asked them about (suggestions: "Ask … about these times").

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 01:40:00

"""
from alembic import op
import sqlalchemy as sa
import oneonone.db_types  # noqa: F401 - custom column types used by autogenerate


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('invitees', schema=None) as batch_op:
        batch_op.add_column(sa.Column('asked_at', oneonone.db_types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('asked_timeslot_ids', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('invitees', schema=None) as batch_op:
        batch_op.drop_column('asked_timeslot_ids')
        batch_op.drop_column('asked_at')
