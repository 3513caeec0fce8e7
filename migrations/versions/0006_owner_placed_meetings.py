"""Meetings the owner moved to a slot the invitee had not picked.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 22:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_placed', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_check_constraint(batch_op.f('ck_events_owner_placed_is_a_meeting'),
                                         'confirmed OR NOT owner_placed')


def downgrade():
    op.execute("DELETE FROM events WHERE owner_placed")
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_events_owner_placed_is_a_meeting'), type_='check')
        batch_op.drop_column('owner_placed')
