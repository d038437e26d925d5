"""Support tickets on the ladder, their history, breach cases with PDPL clocks, decisions and
write-once evidence snapshots (issue 11)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 05:50:00
"""
from alembic import op
import sqlalchemy as sa
import core.models

revision = '0014'
down_revision = "0013"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
TS = core.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('support_tickets',
        sa.Column('id', ID, nullable=False),
        sa.Column('school_upstream_id', sa.String(length=64), nullable=True),
        sa.Column('people', sa.Text(), nullable=False),
        sa.Column('category', sa.String(length=24), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('tier', sa.SmallInteger(), nullable=False),
        sa.Column('security', sa.Boolean(), nullable=False),
        sa.Column('owner', sa.String(length=100), nullable=True),
        sa.Column('status', sa.String(length=8), nullable=False),
        sa.Column('opened_by', sa.String(length=100), nullable=False),
        sa.Column('opened_at', TS, nullable=False),
        sa.Column('sla_due_at', TS, nullable=False),
        sa.Column('updated_at', TS, nullable=False),
        sa.Column('closed_at', TS, nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_support_tickets')))
    op.create_index('ix_support_tickets_school_upstream_id', 'support_tickets', ['school_upstream_id'])
    op.create_index('ix_support_tickets_status_due', 'support_tickets', ['status', 'sla_due_at'])
    op.create_table('ticket_history',
        sa.Column('id', ID, nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('at', TS, nullable=False),
        sa.Column('actor', sa.String(length=100), nullable=False),
        sa.Column('action', sa.String(length=24), nullable=False),
        sa.Column('from_value', sa.String(length=100), nullable=True),
        sa.Column('to_value', sa.String(length=100), nullable=True),
        sa.Column('reason', sa.String(length=300), nullable=False),
        sa.Column('audit_seq', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['support_tickets.id'],
                                name=op.f('fk_ticket_history_ticket_id_support_tickets')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_history')))
    op.create_index('ix_ticket_history_ticket_id', 'ticket_history', ['ticket_id'])
    op.create_table('breach_cases',
        sa.Column('id', ID, nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('opened_at', TS, nullable=False),
        sa.Column('flagged_by', sa.String(length=100), nullable=False),
        sa.Column('trigger', sa.String(length=200), nullable=False),
        sa.Column('centre_due_at', TS, nullable=False),
        sa.Column('persons_due_at', TS, nullable=False),
        sa.Column('decision', sa.String(length=16), nullable=True),
        sa.Column('decided_by', sa.String(length=100), nullable=True),
        sa.Column('decided_at', TS, nullable=True),
        sa.Column('centre_notified_at', TS, nullable=True),
        sa.Column('persons_notified_at', TS, nullable=True),
        sa.ForeignKeyConstraint(['ticket_id'], ['support_tickets.id'],
                                name=op.f('fk_breach_cases_ticket_id_support_tickets')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_breach_cases')),
        sa.UniqueConstraint('ticket_id', name=op.f('uq_breach_cases_ticket_id')))
    op.create_table('breach_decisions',
        sa.Column('id', ID, nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('decision', sa.String(length=16), nullable=False),
        sa.Column('decided_by', sa.String(length=100), nullable=False),
        sa.Column('decided_at', TS, nullable=False),
        sa.Column('reason', sa.String(length=300), nullable=False),
        sa.Column('audit_seq', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['breach_cases.id'],
                                name=op.f('fk_breach_decisions_case_id_breach_cases')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_breach_decisions')))
    op.create_index('ix_breach_decisions_case_id', 'breach_decisions', ['case_id'])
    op.create_table('evidence_snapshots',
        sa.Column('id', ID, nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('taken_at', TS, nullable=False),
        sa.Column('taken_by', sa.String(length=100), nullable=False),
        sa.Column('audit_head_seq', sa.BigInteger(), nullable=False),
        sa.Column('audit_head_hash', sa.String(length=64), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['breach_cases.id'],
                                name=op.f('fk_evidence_snapshots_case_id_breach_cases')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_snapshots')))
    op.create_index('ix_evidence_snapshots_case_id', 'evidence_snapshots', ['case_id'])
    # Write-once: the product never changes a sealed snapshot; the database refuses to.
    for statement in core.models.WRITE_ONCE_TRIGGERS.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def downgrade() -> None:
    for statement in core.models.WRITE_ONCE_DROP.get(op.get_bind().dialect.name, []):
        op.execute(statement)
    op.drop_index('ix_evidence_snapshots_case_id', table_name='evidence_snapshots')
    op.drop_table('evidence_snapshots')
    op.drop_index('ix_breach_decisions_case_id', table_name='breach_decisions')
    op.drop_table('breach_decisions')
    op.drop_table('breach_cases')
    op.drop_index('ix_ticket_history_ticket_id', table_name='ticket_history')
    op.drop_table('ticket_history')
    op.drop_index('ix_support_tickets_status_due', table_name='support_tickets')
    op.drop_index('ix_support_tickets_school_upstream_id', table_name='support_tickets')
    op.drop_table('support_tickets')
