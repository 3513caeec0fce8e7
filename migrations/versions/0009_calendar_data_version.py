"""A per-calendar data version that the database bumps on every write to the calendar's slots,
invitees and picks: the key under which suggestions are cached (oneonone/scheduling/suggestions.py).

Triggers, not application code, bump it, so no write can forget: bulk deletes, cascades from a
deleted contact, the CLI and raw SQL all count. Every write that reaches these rows already holds
the calendar's row lock (oneonone/transaction.py lock_row), so the bump adds no new lock order.
Only the columns suggestions read fire on UPDATE; an invitation's new link does not.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 17:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# table -> the UPDATE OF columns that change suggestions (events: every column).
WATCHED = {
    'events': None,
    'timeslots': 'start_time, end_time, high_priority',
    'invitees': 'contact_id, responded_at, declined_at',
}
BUMP = "UPDATE calendars SET data_version = data_version + 1 WHERE id = {row}.calendar_id"


def _sqlite_triggers():
    for table, columns in WATCHED.items():
        of = f" OF {columns}" if columns else ""
        yield f"CREATE TRIGGER {table}_bump_insert AFTER INSERT ON {table} BEGIN {BUMP.format(row='NEW')}; END"
        yield f"CREATE TRIGGER {table}_bump_delete AFTER DELETE ON {table} BEGIN {BUMP.format(row='OLD')}; END"
        yield (f"CREATE TRIGGER {table}_bump_update AFTER UPDATE{of} ON {table} BEGIN "
               f"{BUMP.format(row='OLD')}; {BUMP.format(row='NEW')} AND NEW.calendar_id <> OLD.calendar_id; END")


def _postgresql_statements():
    yield """
CREATE FUNCTION bump_calendar_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE calendars SET data_version = data_version + 1 WHERE id = OLD.calendar_id;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.calendar_id <> OLD.calendar_id) THEN
        UPDATE calendars SET data_version = data_version + 1 WHERE id = NEW.calendar_id;
    END IF;
    RETURN NULL;
END $$"""
    for table, columns in WATCHED.items():
        of = f" OF {columns}" if columns else ""
        yield (f"CREATE TRIGGER {table}_bump_data_version AFTER INSERT OR DELETE OR UPDATE{of} ON {table} "
               "FOR EACH ROW EXECUTE FUNCTION bump_calendar_data_version()")


def upgrade():
    with op.batch_alter_table('calendars', schema=None) as batch_op:
        batch_op.add_column(sa.Column('data_version', sa.Integer(), nullable=False, server_default='0'))
    if op.get_bind().dialect.name == 'postgresql':
        for statement in _postgresql_statements():
            op.execute(statement)
    else:
        for statement in _sqlite_triggers():
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for table in WATCHED:
            op.execute(f"DROP TRIGGER {table}_bump_data_version ON {table}")
        op.execute("DROP FUNCTION bump_calendar_data_version()")
    else:
        for table in WATCHED:
            for event in ('insert', 'delete', 'update'):
                op.execute(f"DROP TRIGGER {table}_bump_{event}")
    with op.batch_alter_table('calendars', schema=None) as batch_op:
        batch_op.drop_column('data_version')
