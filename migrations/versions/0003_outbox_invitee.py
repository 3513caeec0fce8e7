"""Outbox messages remember the invitee they are about, so the owner sees mail that failed.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 00:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invitee_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_messages_invitee_id'), ['invitee_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_outbox_messages_invitee_id_invitees'), 'invitees',
                                    ['invitee_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbox_messages_invitee_id_invitees'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbox_messages_invitee_id'))
        batch_op.drop_column('invitee_id')
