"""Keyed audit hashes (a scheme per row) and registered contract dates that never change

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 03:20:00

Rows already in audit_log keep their plain SHA-256 hashes (scheme 1) and are never
rewritten; rows appended from now on are HMACs (scheme 2). `hudoor db upgrade` anchors
the head right after migrating, which fixes how many unkeyed rows there may ever be
(docs/decisions/0003).
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = "0007"
branch_labels = None
depends_on = None

# Read by `hudoor release rollback-plan`, which refuses a rollback through this revision.
irreversible_data = ("audit rows appended since are keyed HMACs (scheme 2); without hash_scheme "
                     "the older code reads them as plain SHA-256 and the chain stops verifying; "
                     "archive the keyed rows with their anchors first, or fix forward")

_PG = [
    """CREATE OR REPLACE FUNCTION contract_versions_fixed() RETURNS trigger AS $$
    BEGIN
      IF TG_OP = 'DELETE' OR NEW.notice_date <> OLD.notice_date
         OR NEW.effective_date <> OLD.effective_date THEN
        RAISE EXCEPTION 'contract_versions dates are fixed once registered';
      END IF;
      RETURN NEW;
    END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER contract_versions_fixed BEFORE UPDATE OR DELETE ON contract_versions
    FOR EACH ROW EXECUTE FUNCTION contract_versions_fixed()""",
]
_SQLITE = [
    """CREATE TRIGGER contract_versions_fixed BEFORE UPDATE OF notice_date, effective_date
    ON contract_versions BEGIN SELECT RAISE(ABORT, 'contract_versions dates are fixed once registered'); END""",
    """CREATE TRIGGER contract_versions_kept BEFORE DELETE ON contract_versions
    BEGIN SELECT RAISE(ABORT, 'contract_versions dates are fixed once registered'); END""",
]


def upgrade() -> None:
    # A plain ADD COLUMN (no batch copy): the append-only triggers on audit_log stay, and
    # existing rows read as scheme 1 without being updated.
    op.add_column('audit_log', sa.Column('hash_scheme', sa.SmallInteger(),
                                         server_default=sa.text('1'), nullable=False))
    dialect = op.get_bind().dialect.name
    for statement in _PG if dialect == 'postgresql' else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS contract_versions_fixed ON contract_versions")
        op.execute("DROP FUNCTION IF EXISTS contract_versions_fixed()")
    else:
        op.execute("DROP TRIGGER IF EXISTS contract_versions_fixed")
        op.execute("DROP TRIGGER IF EXISTS contract_versions_kept")
    op.drop_column('audit_log', 'hash_scheme')  # native DROP COLUMN: the triggers stay
