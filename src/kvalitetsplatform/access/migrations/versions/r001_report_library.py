"""reports: the report library, subscriptions and notifications (tables in reports/tables.py)

Revision ID: r001
Revises: 0001
Create Date: 2026-11-26 09:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = 'r001'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('report',
    sa.Column('id', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('scope_code', sa.String(length=32), nullable=False),
    sa.Column('audience_role', sa.String(length=32), nullable=False),
    sa.Column('package', sa.String(length=64), nullable=False),
    sa.Column('package_version', sa.String(length=32), nullable=False),
    sa.Column('period', sa.Date(), nullable=False),
    sa.Column('compared_with', sa.Date(), nullable=True),
    sa.Column('lang', sa.String(length=2), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('file', sa.String(length=400), nullable=False),
    sa.Column('bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('compute_run', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report')),
    sa.UniqueConstraint('kind', 'scope_code', 'package', 'period', 'lang', 'version', name='uq_report_edition')
    )
    op.create_index('ix_report_scope', 'report', ['kind', 'scope_code'], unique=False)
    op.create_table('report_subscription',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('scope_code', sa.String(length=32), nullable=False),
    sa.Column('package', sa.String(length=64), nullable=False),
    sa.Column('lang', sa.String(length=2), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'],
                            name=op.f('fk_report_subscription_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_subscription'))
    )
    op.create_index(op.f('ix_report_subscription_user_id'), 'report_subscription', ['user_id'], unique=False)
    op.create_table('report_notification',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.String(length=80), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.String(length=400), nullable=True),
    sa.ForeignKeyConstraint(['subscription_id'], ['report_subscription.id'],
                            name=op.f('fk_report_notification_subscription_id_report_subscription')),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], name=op.f('fk_report_notification_report_id_report')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_notification')),
    sa.UniqueConstraint('subscription_id', 'report_id', name='uq_report_notification_once')
    )


def downgrade() -> None:
    op.drop_table('report_notification')
    op.drop_index(op.f('ix_report_subscription_user_id'), table_name='report_subscription')
    op.drop_table('report_subscription')
    op.drop_index('ix_report_scope', table_name='report')
    op.drop_table('report')
