"""access: the packages a cluster follows

Revision ID: 0002
Revises: r001
Create Date: 2026-11-26 12:45:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = 'r001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cluster_package',
    sa.Column('cluster_id', sa.String(length=32), nullable=False),
    sa.Column('package', sa.String(length=64), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.Column('changed_by', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('cluster_id', 'package')
    )


def downgrade() -> None:
    op.drop_table('cluster_package')
