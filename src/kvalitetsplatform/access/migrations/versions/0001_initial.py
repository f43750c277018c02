"""app database: organisations, users, grants, sessions, launch, audit, usage

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 08:24:31.320716
"""
from alembic import op
import sqlalchemy as sa

APPEND_ONLY = "audit_entry is append-only"


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_checkpoint',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('up_to_seq', sa.BigInteger(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.Column('expired_before', sa.DateTime(), nullable=False),
    sa.Column('entries_expired', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('signature', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoint')),
    sa.UniqueConstraint('up_to_seq', name=op.f('uq_audit_checkpoint_up_to_seq'))
    )
    op.create_table('audit_entry',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('username', sa.String(length=120), nullable=True),
    sa.Column('role', sa.String(length=32), nullable=True),
    sa.Column('ydernummer', sa.String(length=6), nullable=True),
    sa.Column('patient_key', sa.BigInteger(), nullable=True),
    sa.Column('purpose', sa.String(length=8), nullable=True),
    sa.Column('object', sa.String(length=400), nullable=True),
    sa.Column('details', sa.Text(), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_entry'))
    )
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entry_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entry_patient_key'), ['patient_key'], unique=False)

    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    op.create_table('cluster_setting',
    sa.Column('cluster_id', sa.String(length=32), nullable=False),
    sa.Column('peer_display', sa.String(length=8), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.Column('changed_by', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('cluster_id', name=op.f('pk_cluster_setting'))
    )
    op.create_table('launch_token_used',
    sa.Column('vendor', sa.String(length=64), nullable=False),
    sa.Column('jti', sa.String(length=200), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('vendor', 'jti', name=op.f('pk_launch_token_used'))
    )
    op.create_table('launch_vendor',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('algorithm', sa.String(length=8), nullable=False),
    sa.Column('public_key_pem', sa.Text(), nullable=False),
    sa.Column('registered_at', sa.DateTime(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_launch_vendor'))
    )
    op.create_table('org_unit',
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('region_code', sa.String(length=8), nullable=True),
    sa.PrimaryKeyConstraint('level', 'code', name=op.f('pk_org_unit'))
    )
    op.create_table('practice_membership',
    sa.Column('ydernummer', sa.String(length=6), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('cluster_id', sa.String(length=32), nullable=False),
    sa.Column('region_code', sa.String(length=8), nullable=False),
    sa.Column('kommune_code', sa.String(length=8), nullable=False),
    sa.PrimaryKeyConstraint('ydernummer', 'valid_from', name=op.f('pk_practice_membership'))
    )
    op.create_table('sign_in_attempt',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=120), nullable=False),
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_attempt'))
    )
    with op.batch_alter_table('sign_in_attempt', schema=None) as batch_op:
        batch_op.create_index('ix_sign_in_attempt_client_at', ['client', 'at'], unique=False)
        batch_op.create_index('ix_sign_in_attempt_username_at', ['username', 'at'], unique=False)

    op.create_table('usage_event',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('region_code', sa.String(length=8), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_event'))
    )
    with op.batch_alter_table('usage_event', schema=None) as batch_op:
        batch_op.create_index('ix_usage_event_month', ['month', 'role', 'region_code'], unique=False)

    op.create_table('user_account',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=120), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_account')),
    sa.UniqueConstraint('username', name=op.f('uq_user_account_username'))
    )
    op.create_table('role_grant',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('scope_level', sa.String(length=16), nullable=False),
    sa.Column('scope_code', sa.String(length=32), nullable=False),
    sa.Column('granted_at', sa.DateTime(), nullable=False),
    sa.Column('granted_by', sa.Integer(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_role_grant_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role_grant'))
    )
    with op.batch_alter_table('role_grant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_role_grant_user_id'), ['user_id'], unique=False)

    op.create_table('web_session',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('launch_ydernummer', sa.String(length=6), nullable=True),
    sa.Column('launch_patient_key', sa.BigInteger(), nullable=True),
    sa.Column('launch_vendor', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_web_session_user_id_user_account')),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_web_session'))
    )
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_session_user_id'), ['user_id'], unique=False)

    _append_only_triggers()


def downgrade() -> None:
    _drop_triggers()
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_session_user_id'))

    op.drop_table('web_session')
    with op.batch_alter_table('role_grant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_role_grant_user_id'))

    op.drop_table('role_grant')
    op.drop_table('user_account')
    with op.batch_alter_table('usage_event', schema=None) as batch_op:
        batch_op.drop_index('ix_usage_event_month')

    op.drop_table('usage_event')
    with op.batch_alter_table('sign_in_attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_sign_in_attempt_username_at')
        batch_op.drop_index('ix_sign_in_attempt_client_at')

    op.drop_table('sign_in_attempt')
    op.drop_table('practice_membership')
    op.drop_table('org_unit')
    op.drop_table('launch_vendor')
    op.drop_table('launch_token_used')
    op.drop_table('cluster_setting')
    op.drop_table('audit_head')
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entry_patient_key'))
        batch_op.drop_index(batch_op.f('ix_audit_entry_at'))

    op.drop_table('audit_entry')
    op.drop_table('audit_checkpoint')


def _append_only_triggers() -> None:
    """The audit log refuses UPDATE, and DELETE of any entry not covered by a checkpoint; checkpoints are never
    changed. (A database superuser can still drop triggers: the hash chain is what detects that.)"""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION audit_entry_guard() RETURNS trigger AS $$
            BEGIN
              IF TG_OP = 'DELETE' AND OLD.seq <= COALESCE((SELECT max(up_to_seq) FROM audit_checkpoint), 0) THEN
                RETURN OLD;
              END IF;
              RAISE EXCEPTION '{APPEND_ONLY}: % refused', TG_OP;
            END $$ LANGUAGE plpgsql""")
        op.execute(f"""
            CREATE FUNCTION audit_refuse() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION '{APPEND_ONLY}: % on % refused', TG_OP, TG_TABLE_NAME; END $$ LANGUAGE plpgsql""")
        op.execute("CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry "
                   "FOR EACH ROW EXECUTE FUNCTION audit_entry_guard()")
        op.execute("CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse()")
        op.execute("CREATE TRIGGER audit_checkpoint_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
                   "ON audit_checkpoint FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse()")
    else:
        op.execute(f"CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry "
                   f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}: UPDATE refused'); END")
        op.execute(f"CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry "
                   f"WHEN OLD.seq > COALESCE((SELECT max(up_to_seq) FROM audit_checkpoint), 0) "
                   f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}: DELETE refused'); END")
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_checkpoint_no_{verb.lower()} BEFORE {verb} ON audit_checkpoint "
                       f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}: {verb} refused'); END")


def _drop_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry")
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_entry")
        op.execute("DROP TRIGGER IF EXISTS audit_checkpoint_append_only ON audit_checkpoint")
        op.execute("DROP FUNCTION IF EXISTS audit_entry_guard()")
        op.execute("DROP FUNCTION IF EXISTS audit_refuse()")
    else:
        for name in ("audit_entry_no_update", "audit_entry_no_delete", "audit_checkpoint_no_update",
                     "audit_checkpoint_no_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
