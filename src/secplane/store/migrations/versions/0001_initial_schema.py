"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "accounts",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("alias", sa.String(length=64), server_default="", nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    op.create_table(
        "audit_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=16), server_default="", nullable=False),
        sa.Column("principal", sa.String(length=256), server_default="", nullable=False),
        sa.Column("access_key_id", sa.String(length=64), server_default="", nullable=False),
        sa.Column("source_ip", sa.String(length=64), server_default="", nullable=False),
        sa.Column("product", sa.String(length=32), server_default="", nullable=False),
        sa.Column("version", sa.String(length=16), server_default="", nullable=False),
        sa.Column("action", sa.String(length=128), server_default="", nullable=False),
        sa.Column("resources", sa.Text(), server_default="", nullable=False),
        sa.Column("result", sa.String(length=128), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("message", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_at"), ["at"], unique=False)

    op.create_table(
        "idempotency",
        sa.Column("account_id", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=128), nullable=False),
        sa.Column("client_token", sa.String(length=64), nullable=False),
        sa.Column("params_digest", sa.String(length=64), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "action", "client_token", name=op.f("pk_idempotency")),
    )
    op.create_table(
        "meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_meta")),
    )
    op.create_table(
        "nonces",
        sa.Column("access_key_id", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("access_key_id", "nonce", name=op.f("pk_nonces")),
    )
    with op.batch_alter_table("nonces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nonces_created_at"), ["created_at"], unique=False)

    op.create_table(
        "access_keys",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=16), nullable=False),
        sa.Column("user_name", sa.String(length=64), nullable=True),
        sa.Column("secret_sealed", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_access_keys_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_keys")),
    )
    with op.batch_alter_table("access_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_keys_account_id"), ["account_id"], unique=False)

    op.create_table(
        "resource_groups",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=128), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_resource_groups_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource_groups")),
    )
    with op.batch_alter_table("resource_groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_resource_groups_account_id"), ["account_id"], unique=False)

    op.create_table(
        "vpcs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=16), nullable=False),
        sa.Column("region_id", sa.String(length=32), nullable=False),
        sa.Column("cidr_block", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), server_default="", nullable=False),
        sa.Column("description", sa.String(length=256), server_default="", nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("vrouter_id", sa.String(length=64), nullable=False),
        sa.Column("route_table_id", sa.String(length=64), nullable=False),
        sa.Column("resource_group_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_vpcs_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vpcs")),
    )
    with op.batch_alter_table("vpcs", schema=None) as batch_op:
        batch_op.create_index("ix_vpcs_account_region", ["account_id", "region_id"], unique=False)

    op.create_table(
        "vswitches",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=16), nullable=False),
        sa.Column("region_id", sa.String(length=32), nullable=False),
        sa.Column("vpc_id", sa.String(length=64), nullable=False),
        sa.Column("zone_id", sa.String(length=32), nullable=False),
        sa.Column("cidr_block", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), server_default="", nullable=False),
        sa.Column("description", sa.String(length=256), server_default="", nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resource_group_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_vswitches_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(["vpc_id"], ["vpcs.id"], name=op.f("fk_vswitches_vpc_id_vpcs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vswitches")),
    )
    with op.batch_alter_table("vswitches", schema=None) as batch_op:
        batch_op.create_index("ix_vswitches_account_region", ["account_id", "region_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_vswitches_vpc_id"), ["vpc_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("vswitches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vswitches_vpc_id"))
        batch_op.drop_index("ix_vswitches_account_region")

    op.drop_table("vswitches")
    with op.batch_alter_table("vpcs", schema=None) as batch_op:
        batch_op.drop_index("ix_vpcs_account_region")

    op.drop_table("vpcs")
    with op.batch_alter_table("resource_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resource_groups_account_id"))

    op.drop_table("resource_groups")
    with op.batch_alter_table("access_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_keys_account_id"))

    op.drop_table("access_keys")
    with op.batch_alter_table("nonces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nonces_created_at"))

    op.drop_table("nonces")
    op.drop_table("meta")
    op.drop_table("idempotency")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_at"))
        batch_op.drop_index(batch_op.f("ix_audit_events_action"))

    op.drop_table("audit_events")
    op.drop_table("accounts")
