"""compute and security groups

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tags",
        sa.Column("resource_type", sa.String(length=32), nullable=False),
        sa.Column("resource_id", sa.String(length=128), nullable=False),
        sa.Column("tag_key", sa.String(length=128), nullable=False),
        sa.Column("tag_value", sa.String(length=128), server_default="", nullable=False),
        sa.Column("account_id", sa.String(length=16), nullable=False),
        sa.Column("region_id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "region_id", "resource_type", "resource_id", "tag_key", name=op.f("pk_tags")
        ),
    )
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.create_index("ix_tags_account_key", ["account_id", "resource_type", "tag_key"], unique=False)

    op.create_table(
        "instances",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=16), nullable=False),
        sa.Column("region_id", sa.String(length=32), nullable=False),
        sa.Column("zone_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.String(length=256), server_default="", nullable=False),
        sa.Column("host_name", sa.String(length=64), nullable=False),
        sa.Column("image_id", sa.String(length=128), nullable=False),
        sa.Column("instance_type", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("network_type", sa.String(length=8), nullable=False),
        sa.Column("vpc_id", sa.String(length=64), server_default="", nullable=False),
        sa.Column("vswitch_id", sa.String(length=64), server_default="", nullable=False),
        sa.Column("public_ip", sa.String(length=64), server_default="", nullable=False),
        sa.Column("key_pair_name", sa.String(length=128), server_default="", nullable=False),
        sa.Column("pending_key_pair_name", sa.String(length=128), nullable=True),
        sa.Column("password_login", sa.Boolean(), nullable=False),
        sa.Column("deletion_protection", sa.Boolean(), nullable=False),
        sa.Column("user_data", sa.Text(), server_default="", nullable=False),
        sa.Column("resource_group_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_instances_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instances")),
    )
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.create_index("ix_instances_account_region", ["account_id", "region_id"], unique=False)

    op.create_table(
        "network_interfaces",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=16), nullable=False),
        sa.Column("region_id", sa.String(length=32), nullable=False),
        sa.Column("zone_id", sa.String(length=32), nullable=False),
        sa.Column("vpc_id", sa.String(length=64), server_default="", nullable=False),
        sa.Column("vswitch_id", sa.String(length=64), server_default="", nullable=False),
        sa.Column("eni_type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("instance_id", sa.String(length=64), server_default="", nullable=False),
        sa.Column("device_index", sa.Integer(), server_default="0", nullable=False),
        sa.Column("private_ip", sa.String(length=64), nullable=False),
        sa.Column("mac", sa.String(length=17), nullable=False),
        sa.Column("name", sa.String(length=128), server_default="", nullable=False),
        sa.Column("description", sa.String(length=256), server_default="", nullable=False),
        sa.Column("resource_group_id", sa.String(length=64), nullable=False),
        sa.Column("service_managed", sa.Boolean(), nullable=False),
        sa.Column("service_id", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("delete_on_release", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_network_interfaces_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_interfaces")),
    )
    with op.batch_alter_table("network_interfaces", schema=None) as batch_op:
        batch_op.create_index(
            "ix_network_interfaces_account_region", ["account_id", "region_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_network_interfaces_instance_id"), ["instance_id"], unique=False)
        batch_op.create_index("ix_network_interfaces_vswitch_ip", ["vswitch_id", "private_ip"], unique=False)

    op.create_table(
        "prefix_lists",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=16), nullable=False),
        sa.Column("region_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.String(length=256), server_default="", nullable=False),
        sa.Column("address_family", sa.String(length=8), nullable=False),
        sa.Column("max_entries", sa.Integer(), nullable=False),
        sa.Column("resource_group_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("revision", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_prefix_lists_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prefix_lists")),
    )
    with op.batch_alter_table("prefix_lists", schema=None) as batch_op:
        batch_op.create_index("ix_prefix_lists_account_region", ["account_id", "region_id"], unique=False)

    op.create_table(
        "security_groups",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=16), nullable=False),
        sa.Column("region_id", sa.String(length=32), nullable=False),
        sa.Column("vpc_id", sa.String(length=64), server_default="", nullable=False),
        sa.Column("name", sa.String(length=128), server_default="", nullable=False),
        sa.Column("description", sa.String(length=256), server_default="", nullable=False),
        sa.Column("group_type", sa.String(length=16), nullable=False),
        sa.Column("inner_access_policy", sa.String(length=8), nullable=False),
        sa.Column("resource_group_id", sa.String(length=64), nullable=False),
        sa.Column("service_managed", sa.Boolean(), nullable=False),
        sa.Column("service_id", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("revision", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_security_groups_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_groups")),
    )
    with op.batch_alter_table("security_groups", schema=None) as batch_op:
        batch_op.create_index("ix_security_groups_account_region", ["account_id", "region_id", "id"], unique=False)

    op.create_table(
        "prefix_list_entries",
        sa.Column("prefix_list_id", sa.String(length=64), nullable=False),
        sa.Column("cidr", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=64), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["prefix_list_id"],
            ["prefix_lists.id"],
            name=op.f("fk_prefix_list_entries_prefix_list_id_prefix_lists"),
        ),
        sa.PrimaryKeyConstraint("prefix_list_id", "cidr", name=op.f("pk_prefix_list_entries")),
    )
    op.create_table(
        "sg_members",
        sa.Column("security_group_id", sa.String(length=64), nullable=False),
        sa.Column("network_interface_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_interface_id"],
            ["network_interfaces.id"],
            name=op.f("fk_sg_members_network_interface_id_network_interfaces"),
        ),
        sa.ForeignKeyConstraint(
            ["security_group_id"],
            ["security_groups.id"],
            name=op.f("fk_sg_members_security_group_id_security_groups"),
        ),
        sa.PrimaryKeyConstraint("security_group_id", "network_interface_id", name=op.f("pk_sg_members")),
    )
    with op.batch_alter_table("sg_members", schema=None) as batch_op:
        batch_op.create_index("ix_sg_members_eni", ["network_interface_id"], unique=False)

    op.create_table(
        "sg_rules",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("security_group_id", sa.String(length=64), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("policy", sa.String(length=8), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("ip_protocol", sa.String(length=8), nullable=False),
        sa.Column("port_range", sa.String(length=16), nullable=False),
        sa.Column("source_port_range", sa.String(length=16), server_default="", nullable=False),
        sa.Column("nic_type", sa.String(length=16), nullable=False),
        sa.Column("peer_cidr", sa.String(length=64), server_default="", nullable=False),
        sa.Column("peer_group_id", sa.String(length=64), server_default="", nullable=False),
        sa.Column("peer_group_owner", sa.String(length=32), server_default="", nullable=False),
        sa.Column("peer_prefix_list_id", sa.String(length=64), server_default="", nullable=False),
        sa.Column("local_cidr", sa.String(length=64), server_default="", nullable=False),
        sa.Column("description", sa.String(length=512), server_default="", nullable=False),
        sa.Column("content_key", sa.String(length=400), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["security_group_id"],
            ["security_groups.id"],
            name=op.f("fk_sg_rules_security_group_id_security_groups"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sg_rules")),
    )
    with op.batch_alter_table("sg_rules", schema=None) as batch_op:
        batch_op.create_index("ix_sg_rules_peer_group", ["peer_group_id"], unique=False)
        batch_op.create_index("ix_sg_rules_peer_prefix_list", ["peer_prefix_list_id"], unique=False)
        batch_op.create_index("ux_sg_rules_group_content", ["security_group_id", "content_key"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("sg_rules", schema=None) as batch_op:
        batch_op.drop_index("ux_sg_rules_group_content")
        batch_op.drop_index("ix_sg_rules_peer_prefix_list")
        batch_op.drop_index("ix_sg_rules_peer_group")

    op.drop_table("sg_rules")
    with op.batch_alter_table("sg_members", schema=None) as batch_op:
        batch_op.drop_index("ix_sg_members_eni")

    op.drop_table("sg_members")
    op.drop_table("prefix_list_entries")
    with op.batch_alter_table("security_groups", schema=None) as batch_op:
        batch_op.drop_index("ix_security_groups_account_region")

    op.drop_table("security_groups")
    with op.batch_alter_table("prefix_lists", schema=None) as batch_op:
        batch_op.drop_index("ix_prefix_lists_account_region")

    op.drop_table("prefix_lists")
    with op.batch_alter_table("network_interfaces", schema=None) as batch_op:
        batch_op.drop_index("ix_network_interfaces_vswitch_ip")
        batch_op.drop_index(batch_op.f("ix_network_interfaces_instance_id"))
        batch_op.drop_index("ix_network_interfaces_account_region")

    op.drop_table("network_interfaces")
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.drop_index("ix_instances_account_region")

    op.drop_table("instances")
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.drop_index("ix_tags_account_key")

    op.drop_table("tags")
