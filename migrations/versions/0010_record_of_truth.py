"""Record of truth: attendance revisions, the write-back outbox, reconciliation reports, adjustments

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 03:00:00
"""
from alembic import op
import sqlalchemy as sa
import core.models


revision = '0010'
down_revision = "0009"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch copy (see downgrade): existing records read revision 1.
    op.add_column('attendance_records', sa.Column('revision', sa.Integer(),
                                                  server_default=sa.text('1'), nullable=False))
    op.create_index('ix_attendance_records_day', 'attendance_records', ['day'], unique=False)
    op.create_table('writeback_outbox',
    sa.Column('id', _ID, nullable=False),
    sa.Column('class_id', _ID, nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('done_at', core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['class_id'], ['classes.id'], name=op.f('fk_writeback_outbox_class_id_classes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_writeback_outbox'))
    )
    op.create_index('uq_writeback_class_day_revision', 'writeback_outbox',
                    ['class_id', 'day', 'revision'], unique=True)
    op.create_index('ix_writeback_state_due', 'writeback_outbox', ['state', 'next_attempt_at'])
    op.create_table('reconciliations',
    sa.Column('id', _ID, nullable=False),
    sa.Column('school_id', _ID, nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('run_at', core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('local_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('remote_fingerprint', sa.String(length=64), nullable=True),
    sa.Column('local_count', sa.Integer(), nullable=False),
    sa.Column('remote_count', sa.Integer(), nullable=False),
    sa.Column('resent', sa.Integer(), nullable=False),
    sa.Column('reasons', sa.Text(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_reconciliations_school_id_schools')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliations'))
    )
    op.create_index('ix_reconciliations_school_day', 'reconciliations', ['school_id', 'day'])
    op.create_table('attendance_adjustments',
    sa.Column('id', _ID, nullable=False),
    sa.Column('school_id', _ID, nullable=False),
    sa.Column('class_id', _ID, nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('person_id', _ID, nullable=False),
    sa.Column('from_status', sa.String(length=8), nullable=False),
    sa.Column('to_status', sa.String(length=8), nullable=False),
    sa.Column('reason_code', sa.String(length=24), nullable=False),
    sa.Column('requested_by', sa.String(length=100), nullable=False),
    sa.Column('requested_at', core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('decided_at', core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('exception_ref', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_attendance_adjustments_school_id_schools')),
    sa.ForeignKeyConstraint(['class_id'], ['classes.id'], name=op.f('fk_attendance_adjustments_class_id_classes')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_attendance_adjustments_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance_adjustments'))
    )
    op.create_index('ix_adjustments_school_day', 'attendance_adjustments', ['school_id', 'day'])
    op.create_index('ix_adjustments_class_day', 'attendance_adjustments', ['class_id', 'day'])
    op.create_index('ix_adjustments_state', 'attendance_adjustments', ['state'])


def downgrade() -> None:
    op.drop_table('attendance_adjustments')
    op.drop_table('reconciliations')
    op.drop_table('writeback_outbox')
    # Native DROP COLUMN, not a batch copy: on SQLite a copy drops and renames
    # attendance_records, which its marks (and write-backs) reference, and with foreign
    # keys on the DROP TABLE fails as soon as a single mark exists.
    op.drop_index('ix_attendance_records_day', table_name='attendance_records')
    op.drop_column('attendance_records', 'revision')
