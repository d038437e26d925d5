"""Merge, never delete (person aliases), reversible bulk operations with before-images,
and delegated-access support grants

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 06:00:00
"""
from alembic import op
import sqlalchemy as sa
import core.models

revision = '0015'
down_revision = "0014"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
TS = core.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('bulk_operations',
        sa.Column('id', ID, nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('actor', sa.String(length=100), nullable=False),
        sa.Column('reason', sa.String(length=300), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('final_at', TS, nullable=False),
        sa.Column('reverted_at', TS, nullable=True),
        sa.Column('reverted_by', sa.String(length=100), nullable=True),
        sa.Column('revert_reason', sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_bulk_operations')))
    op.create_index('ix_bulk_operations_created', 'bulk_operations', ['created_at'])
    op.create_table('bulk_row_images',
        sa.Column('id', ID, nullable=False),
        sa.Column('operation_id', ID, nullable=False),
        sa.Column('table_name', sa.String(length=64), nullable=False),
        sa.Column('row_id', sa.BigInteger(), nullable=False),
        sa.Column('before', sa.Text(), nullable=True),
        sa.Column('after', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['operation_id'], ['bulk_operations.id'],
                                name=op.f('fk_bulk_row_images_operation_id_bulk_operations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_bulk_row_images')))
    op.create_index(op.f('ix_bulk_row_images_operation_id'), 'bulk_row_images', ['operation_id'])
    op.create_table('person_aliases',
        sa.Column('id', ID, nullable=False),
        sa.Column('merged_id', ID, nullable=False),
        sa.Column('canonical_id', ID, nullable=False),
        sa.Column('operation_id', ID, nullable=False),
        sa.Column('merged_by', sa.String(length=100), nullable=False),
        sa.Column('reason', sa.String(length=300), nullable=False),
        sa.Column('merged_at', TS, nullable=False),
        sa.Column('undone_at', TS, nullable=True),
        sa.ForeignKeyConstraint(['merged_id'], ['people.id'],
                                name=op.f('fk_person_aliases_merged_id_people')),
        sa.ForeignKeyConstraint(['canonical_id'], ['people.id'],
                                name=op.f('fk_person_aliases_canonical_id_people')),
        sa.ForeignKeyConstraint(['operation_id'], ['bulk_operations.id'],
                                name=op.f('fk_person_aliases_operation_id_bulk_operations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_person_aliases')))
    op.create_index(op.f('ix_person_aliases_merged_id'), 'person_aliases', ['merged_id'])
    op.create_index(op.f('ix_person_aliases_canonical_id'), 'person_aliases', ['canonical_id'])
    op.create_table('support_grants',
        sa.Column('id', ID, nullable=False),
        sa.Column('agent_id', ID, nullable=False),
        sa.Column('scope', sa.String(length=8), nullable=False),
        sa.Column('school_id', ID, nullable=False),
        sa.Column('person_id', ID, nullable=True),
        sa.Column('minutes', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=300), nullable=False),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column('requested_at', TS, nullable=False),
        sa.Column('decided_by', ID, nullable=True),
        sa.Column('decided_at', TS, nullable=True),
        sa.Column('expires_at', TS, nullable=True),
        sa.Column('revoked_at', TS, nullable=True),
        sa.Column('revoked_reason', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['agent_id'], ['central_staff.id'],
                                name=op.f('fk_support_grants_agent_id_central_staff')),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id'],
                                name=op.f('fk_support_grants_school_id_schools')),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'],
                                name=op.f('fk_support_grants_person_id_people')),
        sa.ForeignKeyConstraint(['decided_by'], ['people.id'],
                                name=op.f('fk_support_grants_decided_by_people')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_support_grants')))
    op.create_index(op.f('ix_support_grants_agent_id'), 'support_grants', ['agent_id'])
    op.create_index(op.f('ix_support_grants_school_id'), 'support_grants', ['school_id'])
    op.create_index('ix_support_grants_state', 'support_grants', ['state'])


def downgrade() -> None:
    op.drop_index('ix_support_grants_state', table_name='support_grants')
    op.drop_index(op.f('ix_support_grants_school_id'), table_name='support_grants')
    op.drop_index(op.f('ix_support_grants_agent_id'), table_name='support_grants')
    op.drop_table('support_grants')
    op.drop_index(op.f('ix_person_aliases_canonical_id'), table_name='person_aliases')
    op.drop_index(op.f('ix_person_aliases_merged_id'), table_name='person_aliases')
    op.drop_table('person_aliases')
    op.drop_index(op.f('ix_bulk_row_images_operation_id'), table_name='bulk_row_images')
    op.drop_table('bulk_row_images')
    op.drop_index('ix_bulk_operations_created', table_name='bulk_operations')
    op.drop_table('bulk_operations')
