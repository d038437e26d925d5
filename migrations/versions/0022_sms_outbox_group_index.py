"""The SMS outbox's claim index: one group's sendable rows in id order (issue 16)

Revision ID: 0022
Revises: 0020
Create Date: 2026-11-30 09:00:00.000000
"""
from alembic import op


revision = '0022'
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sms_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_sms_outbox_group',
                              ['operator', 'priority', 'state', 'id', 'next_attempt_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sms_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_sms_outbox_group')
