"""Cohort stages per feature with their history and health samples; quiz answers (G3, R8)

Revision ID: 0018
Revises: 0016
Create Date: 2026-11-30 05:45:00
"""
from alembic import op
import sqlalchemy as sa
import core.models

revision = '0018'
down_revision = "0016"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
TS = core.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('feature_stages',
        sa.Column('feature', sa.String(length=40), nullable=False),
        sa.Column('percent', sa.SmallInteger(), nullable=False),
        sa.Column('since', TS, nullable=False),
        sa.Column('by', sa.String(length=100), nullable=False),
        sa.Column('reason', sa.String(length=300), nullable=False),
        sa.Column('held', sa.Boolean(), nullable=False),
        sa.Column('held_since', TS, nullable=True),
        sa.Column('lifted_at', TS, nullable=True),
        sa.PrimaryKeyConstraint('feature', name=op.f('pk_feature_stages')))
    op.create_table('feature_stage_history',
        sa.Column('id', ID, nullable=False),
        sa.Column('feature', sa.String(length=40), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('from_percent', sa.SmallInteger(), nullable=False),
        sa.Column('to_percent', sa.SmallInteger(), nullable=False),
        sa.Column('at', TS, nullable=False),
        sa.Column('by', sa.String(length=100), nullable=False),
        sa.Column('reason', sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_feature_stage_history')))
    op.create_index(op.f('ix_feature_stage_history_feature'), 'feature_stage_history', ['feature'])
    op.create_table('cohort_health_samples',
        sa.Column('id', ID, nullable=False),
        sa.Column('feature', sa.String(length=40), nullable=False),
        sa.Column('percent', sa.SmallInteger(), nullable=False),
        sa.Column('at', TS, nullable=False),
        sa.Column('within', sa.Boolean(), nullable=False),
        sa.Column('figures', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_cohort_health_samples')))
    op.create_index('ix_cohort_health_samples_feature_at', 'cohort_health_samples', ['feature', 'at'])
    op.create_table('assessment_answers',
        sa.Column('id', ID, nullable=False),
        sa.Column('quiz', sa.String(length=40), nullable=False),
        sa.Column('question', sa.String(length=40), nullable=False),
        sa.Column('student_id', ID, nullable=False),
        sa.Column('class_id', ID, nullable=False),
        sa.Column('choice', sa.SmallInteger(), nullable=False),
        sa.Column('correct', sa.Boolean(), nullable=False),
        sa.Column('answered_at', TS, nullable=False),
        sa.ForeignKeyConstraint(['student_id'], ['people.id'],
                                name=op.f('fk_assessment_answers_student_id_people')),
        sa.ForeignKeyConstraint(['class_id'], ['classes.id'],
                                name=op.f('fk_assessment_answers_class_id_classes')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_answers')))
    op.create_index('uq_assessment_answers_once', 'assessment_answers',
                    ['quiz', 'student_id', 'question'], unique=True)
    op.create_index('ix_assessment_answers_class', 'assessment_answers', ['class_id', 'quiz'])


def downgrade() -> None:
    op.drop_index('ix_assessment_answers_class', table_name='assessment_answers')
    op.drop_index('uq_assessment_answers_once', table_name='assessment_answers')
    op.drop_table('assessment_answers')
    op.drop_index('ix_cohort_health_samples_feature_at', table_name='cohort_health_samples')
    op.drop_table('cohort_health_samples')
    op.drop_index(op.f('ix_feature_stage_history_feature'), table_name='feature_stage_history')
    op.drop_table('feature_stage_history')
    op.drop_table('feature_stages')
