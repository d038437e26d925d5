"""One calendar (holidays, terms, Ramadan hours, central exceptions, school weeks) and the
paper-parity gate (paper marks, rules as data, pre-registered directives, firings)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 03:10:00
"""
from alembic import op
import sqlalchemy as sa
import core.models
from core import calendar_seed

revision = '0011'
down_revision = "0010"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
TS = core.models.UTCDateTime(timezone=True)

def upgrade() -> None:
    op.create_table('calendar_holidays',
        sa.Column('id', ID, nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('estimated', sa.Boolean(), nullable=False),
        sa.Column('confirmed_by', sa.String(length=100), nullable=True),
        sa.Column('confirmed_at', TS, nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_holidays')))
    op.create_index('ix_calendar_holidays_day', 'calendar_holidays', ['day'])
    op.create_index('uq_calendar_holiday_day_name', 'calendar_holidays', ['day', 'name'], unique=True)
    op.create_table('calendar_terms',
        sa.Column('id', ID, nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_terms')),
        sa.UniqueConstraint('name', name=op.f('uq_calendar_terms_name')))
    op.create_table('calendar_exceptions',
        sa.Column('id', ID, nullable=False),
        sa.Column('scope', sa.String(length=16), nullable=False),
        sa.Column('governorate', sa.String(length=100), nullable=True),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('open', sa.Boolean(), nullable=False),
        sa.Column('reference', sa.String(length=100), nullable=False),
        sa.Column('created_by', sa.String(length=100), nullable=False),
        sa.Column('reason', sa.String(length=300), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('reversed_at', TS, nullable=True),
        sa.Column('reversed_by', sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_exceptions')))
    op.create_index('ix_calendar_exceptions_day', 'calendar_exceptions', ['day'])
    op.create_table('calendar_ramadan_rules',
        sa.Column('id', ID, nullable=False),
        sa.Column('governorate', sa.String(length=100), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.Column('school_start', sa.String(length=5), nullable=False),
        sa.Column('cutoff', sa.String(length=5), nullable=False),
        sa.Column('digest_at', sa.String(length=5), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_ramadan_rules')))
    op.create_index('uq_ramadan_rule', 'calendar_ramadan_rules', ['governorate', 'starts_on'], unique=True)
    op.create_table('school_calendars',
        sa.Column('school_id', sa.Integer(), nullable=False),
        sa.Column('week', sa.String(length=8), nullable=False),
        sa.Column('joined_on', sa.Date(), nullable=True),
        sa.Column('set_by', sa.String(length=100), nullable=False),
        sa.Column('set_at', TS, nullable=False),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_school_calendars_school_id_schools')),
        sa.PrimaryKeyConstraint('school_id', name=op.f('pk_school_calendars')))
    op.create_table('paper_uploads',
        sa.Column('id', ID, nullable=False),
        sa.Column('school_id', sa.Integer(), nullable=False),
        sa.Column('uploaded_by', sa.String(length=100), nullable=False),
        sa.Column('uploaded_at', TS, nullable=False),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_paper_uploads_school_id_schools')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_paper_uploads')))
    op.create_index('ix_paper_uploads_school_id', 'paper_uploads', ['school_id'])
    op.create_table('paper_marks',
        sa.Column('id', ID, nullable=False),
        sa.Column('upload_id', sa.Integer(), nullable=False),
        sa.Column('class_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=8), nullable=False),
        sa.Column('first_uploaded_at', TS, nullable=False),
        sa.ForeignKeyConstraint(['upload_id'], ['paper_uploads.id'], name=op.f('fk_paper_marks_upload_id_paper_uploads')),
        sa.ForeignKeyConstraint(['class_id'], ['classes.id'], name=op.f('fk_paper_marks_class_id_classes')),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_paper_marks_person_id_people')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_paper_marks')))
    op.create_index('uq_paper_mark', 'paper_marks', ['class_id', 'day', 'person_id'], unique=True)
    op.create_index('ix_paper_marks_day', 'paper_marks', ['day'])
    op.create_table('gate_rules',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('value', sa.Float(), nullable=False),
        sa.Column('description', sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_gate_rules')))
    op.create_table('gate_directives',
        sa.Column('id', ID, nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('registered_by', sa.String(length=100), nullable=False),
        sa.Column('registered_at', TS, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_gate_directives')),
        sa.UniqueConstraint('name', name=op.f('uq_gate_directives_name')))
    op.create_table('gate_firings',
        sa.Column('id', ID, nullable=False),
        sa.Column('school_id', sa.Integer(), nullable=False),
        sa.Column('directive_id', sa.Integer(), nullable=False),
        sa.Column('directive_sha256', sa.String(length=64), nullable=False),
        sa.Column('fired_at', TS, nullable=False),
        sa.Column('weeks', sa.Text(), nullable=False),
        sa.Column('figures', sa.Text(), nullable=False),
        sa.Column('reversed_at', TS, nullable=True),
        sa.Column('reversed_by', sa.String(length=100), nullable=True),
        sa.Column('reversal_reference', sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_gate_firings_school_id_schools')),
        sa.ForeignKeyConstraint(['directive_id'], ['gate_directives.id'], name=op.f('fk_gate_firings_directive_id_gate_directives')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_gate_firings')))
    op.create_index('ix_gate_firings_school_id', 'gate_firings', ['school_id'])
    _seed()


def _seed() -> None:
    meta = sa.MetaData()
    meta.reflect(bind=op.get_bind(), only=list(calendar_seed.seed_rows()))
    for name, rows in calendar_seed.seed_rows().items():
        op.bulk_insert(meta.tables[name], rows)


def downgrade() -> None:
    for name in ('gate_firings', 'gate_directives', 'gate_rules', 'paper_marks', 'paper_uploads',
                 'school_calendars', 'calendar_ramadan_rules', 'calendar_exceptions',
                 'calendar_terms', 'calendar_holidays'):
        op.drop_table(name)
