"""One-time codes count wrong tries and burn; phone numbers only as identifiers are cut

Codes get their holder's keypad number (to count wrong tries per number), a count of
wrong tries and the time they burned (docs/decisions/0013). Unused staff activation
codes issued before this revision were six digits, too few for the guessing bound: they
stop working (champions issue new ones). Full MSISDNs kept only as identifiers
(attendance capture telemetry, who used a code) are cut to their last three digits;
new rows hold the SIM's keyed hash.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 03:10:00
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

import core.models

revision = '0007'
down_revision = "0006"
branch_labels = None
depends_on = None

# Read by `hudoor release rollback-plan`.
downgrade_data = "burned codes expire at the moment they burned (they stay dead without burned_at)"


def _digits(upstream_id: str) -> str:
    return "".join(ch for ch in upstream_id if ch.isdigit())


def upgrade() -> None:
    with op.batch_alter_table('one_time_codes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('number', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('failures', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('burned_at', core.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_one_time_codes_kind_number', ['kind', 'number'], unique=False)

    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT c.id, p.upstream_id FROM one_time_codes c JOIN people p ON p.id = c.person_id")).all()
    if rows:
        bind.execute(sa.text("UPDATE one_time_codes SET number = :n WHERE id = :i"),
                     [{"n": _digits(upstream_id)[:20], "i": code_id} for code_id, upstream_id in rows])
    tail = "'…' || " + ("substr({col}, -3)" if bind.dialect.name == "sqlite" else "right({col}, 3)")
    bind.execute(sa.text("UPDATE one_time_codes SET expires_at = :now WHERE kind = 'staff_activation' "
                         "AND used_at IS NULL AND expires_at > :now")
                 .bindparams(sa.bindparam("now", type_=core.models.UTCDateTime())),
                 {"now": datetime.now(timezone.utc)})
    bind.execute(sa.text(f"UPDATE one_time_codes SET used_by = {tail.format(col='used_by')} "
                         "WHERE used_by LIKE '+%'"))
    bind.execute(sa.text(f"UPDATE attendance_records SET msisdn = {tail.format(col='msisdn')} "
                         "WHERE msisdn LIKE '+%'"))


def downgrade() -> None:
    # A burned code must stay dead without its burned_at: it expires when it burned.
    op.execute("UPDATE one_time_codes SET expires_at = burned_at "
               "WHERE burned_at IS NOT NULL AND expires_at > burned_at")
    with op.batch_alter_table('one_time_codes', schema=None) as batch_op:
        batch_op.drop_index('ix_one_time_codes_kind_number')
        batch_op.drop_column('burned_at')
        batch_op.drop_column('failures')
        batch_op.drop_column('number')
