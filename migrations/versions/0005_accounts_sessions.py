"""Accounts people can trust: server-side sign-in sessions, verified addresses, owners' outbox rows;
invitation links derived from a nonce (rebuilt, never stored).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 06:40:00

"""
from alembic import op
import sqlalchemy as sa
import oneonone.db_types  # noqa: F401 - custom column types used by autogenerate


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'user_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('remember', sa.Boolean(), nullable=False),
        sa.Column('created_at', oneonone.db_types.UTCDateTime(), nullable=False),
        sa.Column('last_seen_at', oneonone.db_types.UTCDateTime(), nullable=False),
        sa.Column('user_agent', sa.String(length=255), nullable=False),
        sa.Column('ip_address', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
        sa.UniqueConstraint('secret_hash', name=op.f('uq_user_sessions_secret_hash')),
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_sessions_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_verified_at', oneonone.db_types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('pending_email', sa.String(length=120), nullable=True))
    # Accounts made before addresses were verified keep mailing their invitees.
    op.execute("UPDATE users SET email_verified_at = created_at")

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('discard', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('template', sa.String(length=40), nullable=False, server_default=''))
        batch_op.create_index(batch_op.f('ix_outbox_messages_owner_id'), ['owner_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_outbox_messages_owner_id_users'), 'users', ['owner_id'], ['id'],
                                    ondelete='SET NULL')
    with op.batch_alter_table('invitees', schema=None) as batch_op:
        batch_op.add_column(sa.Column('link_nonce', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('link_issued_at', oneonone.db_types.UTCDateTime(), nullable=True))
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.alter_column('discard', server_default=None)
        batch_op.alter_column('template', server_default=None)


def downgrade():
    with op.batch_alter_table('invitees', schema=None) as batch_op:
        batch_op.drop_column('link_issued_at')
        batch_op.drop_column('link_nonce')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbox_messages_owner_id_users'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbox_messages_owner_id'))
        batch_op.drop_column('template')
        batch_op.drop_column('discard')
        batch_op.drop_column('owner_id')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('pending_email')
        batch_op.drop_column('email_verified_at')
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_sessions_user_id'))
    op.drop_table('user_sessions')
