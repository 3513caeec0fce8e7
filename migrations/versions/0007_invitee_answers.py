"""Answers that say something: "None of these times work for me" and a comment for the owner.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 22:30:00

"""
from alembic import op
import sqlalchemy as sa
import oneonone.db_types  # noqa: F401 - custom column types used by autogenerate


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('invitees', schema=None) as batch_op:
        batch_op.add_column(sa.Column('declined_at', oneonone.db_types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('comment', sa.String(length=500), nullable=True))
        batch_op.create_check_constraint(batch_op.f('ck_invitees_declined_is_an_answer'),
                                         'declined_at IS NULL OR responded_at IS NOT NULL')


def downgrade():
    with op.batch_alter_table('invitees', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_invitees_declined_is_an_answer'), type_='check')
        batch_op.drop_column('comment')
        batch_op.drop_column('declined_at')
