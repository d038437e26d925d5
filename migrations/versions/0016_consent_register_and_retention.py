"""Consent register, data-subject requests, and delivery reports without phone numbers

Adds `consent_records` (append-only: every guardian link's consent given or withdrawn,
with the wording's version, time and channel) and `privacy_requests` (access, correction,
erasure, each with its legal deadline) - docs/decisions/0026.

Existing guardian links were made by enrolment over USSD before the register existed:
each gets a consent row with wording version "pre-register" (channel "migration", at the
link's own consented_at, note saying so), and a link stopped before this revision also
gets its withdrawal row at its opted_out_at, so nobody who said STOP is written back in.

`sms_delivery_reports.phone_number` becomes `phone_ref`: new reports keep the handset's
keyed hash; the full numbers already stored are cut to their last three digits (the
migration has no key to hash them with). `sms_inbound.msisdn` is cut the same way.
Downgrade drops the two tables and renames the column back; numbers cut stay cut.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 06:10:00
"""
import sqlalchemy as sa
from alembic import op

import core.models

revision = '0016'
down_revision = "0015"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
TS = core.models.UTCDateTime(timezone=True)
NOTE = "linked before the consent register (migration 0016): consent given at USSD enrolment, words not recorded"


def _tail(bind: sa.engine.Connection, col: str) -> str:
    return "'…' || " + (f"substr({col}, -3)" if bind.dialect.name == "sqlite" else f"right({col}, 3)")


def upgrade() -> None:
    op.create_table('consent_records',
        sa.Column('id', ID, nullable=False),
        sa.Column('contact_id', ID, nullable=False),
        sa.Column('granted', sa.Boolean(), nullable=False),
        sa.Column('wording_version', sa.String(length=32), nullable=True),
        sa.Column('channel', sa.String(length=12), nullable=False),
        sa.Column('at', TS, nullable=False),
        sa.Column('actor', sa.String(length=100), nullable=False),
        sa.Column('note', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'],
                                name=op.f('fk_consent_records_contact_id_contacts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_records')))
    op.create_index('ix_consent_records_contact', 'consent_records', ['contact_id', 'id'])
    op.create_table('privacy_requests',
        sa.Column('id', ID, nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('channel', sa.String(length=12), nullable=False),
        sa.Column('subject_ref', sa.String(length=20), nullable=False),
        sa.Column('msisdn', sa.String(length=20), nullable=True),
        sa.Column('school_id', ID, nullable=True),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('received_at', TS, nullable=False),
        sa.Column('due_at', TS, nullable=False),
        sa.Column('answered_at', TS, nullable=True),
        sa.Column('answered_by', sa.String(length=100), nullable=True),
        sa.Column('note', sa.String(length=200), nullable=False),
        sa.Column('ticket_ref', sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id'],
                                name=op.f('fk_privacy_requests_school_id_schools')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_requests')))
    op.create_index('ix_privacy_requests_subject_ref', 'privacy_requests', ['subject_ref'])
    op.create_index('ix_privacy_requests_status_due', 'privacy_requests', ['status', 'due_at'])

    bind = op.get_bind()
    # Grants first (ids ascending = order of events), then the withdrawals of stopped links.
    bind.execute(sa.text(
        "INSERT INTO consent_records (contact_id, granted, wording_version, channel, at, actor, note) "
        "SELECT id, :yes, 'pre-register', 'migration', consented_at, 'migration:0016', :note "
        "FROM contacts WHERE kind = 'guardian' ORDER BY id"), {"yes": True, "note": NOTE})
    bind.execute(sa.text(
        "INSERT INTO consent_records (contact_id, granted, wording_version, channel, at, actor, note) "
        "SELECT id, :no, NULL, 'migration', opted_out_at, 'migration:0016', :note "
        "FROM contacts WHERE kind = 'guardian' AND opted_out_at IS NOT NULL ORDER BY id"),
        {"no": False, "note": "stopped before the consent register (migration 0016)"})

    with op.batch_alter_table('sms_delivery_reports', schema=None) as batch_op:
        batch_op.alter_column('phone_number', new_column_name='phone_ref',
                              existing_type=sa.String(length=20), existing_nullable=False)
    bind.execute(sa.text(f"UPDATE sms_delivery_reports SET phone_ref = {_tail(bind, 'phone_ref')} "
                         "WHERE phone_ref NOT LIKE '…%'"))
    bind.execute(sa.text(f"UPDATE sms_inbound SET msisdn = {_tail(bind, 'msisdn')} "
                         "WHERE msisdn NOT LIKE '…%'"))


def downgrade() -> None:
    with op.batch_alter_table('sms_delivery_reports', schema=None) as batch_op:
        batch_op.alter_column('phone_ref', new_column_name='phone_number',
                              existing_type=sa.String(length=20), existing_nullable=False)
    op.drop_index('ix_privacy_requests_status_due', table_name='privacy_requests')
    op.drop_index('ix_privacy_requests_subject_ref', table_name='privacy_requests')
    op.drop_table('privacy_requests')
    op.drop_index('ix_consent_records_contact', table_name='consent_records')
    op.drop_table('consent_records')
