"""A class-day's record found by (day, class_id) however many classes the day holds

The lookup a confirm or a late arrival makes (`class_id = ? AND day = ?`) was planned on
the day-only index and filtered every record of the day by class: 0.46 ms with 735 of
them, and a national morning holds ~27,000. The day index becomes (day, class_id): exact for
that lookup on whichever index PostgreSQL picks, and an index-only read of a day's taken
classes (decision 0043).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-01 16:00:00.000000
"""
from alembic import op


revision = '0025'
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_attendance_records_day_class', 'attendance_records', ['day', 'class_id'],
                    unique=False)
    op.drop_index('ix_attendance_records_day', table_name='attendance_records')


def downgrade() -> None:
    op.create_index('ix_attendance_records_day', 'attendance_records', ['day'], unique=False)
    op.drop_index('ix_attendance_records_day_class', table_name='attendance_records')
