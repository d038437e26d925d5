"""Support tickets remember which SLA deadline was already alerted as overdue (idempotent job)

Revision ID: 0024
Revises: 0020
Create Date: 2026-11-30 09:10:00.000000
"""
from alembic import op
import sqlalchemy as sa
import core.models


revision = '0024'
down_revision = "0022"
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both databases (SQLite ≥ 3.35 drops a column in place): a batch copy
# of support_tickets would trip the foreign keys of its history and breach cases.
def upgrade() -> None:
    op.add_column('support_tickets', sa.Column('sla_overdue_for',
                                               core.models.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('support_tickets', 'sla_overdue_for')
