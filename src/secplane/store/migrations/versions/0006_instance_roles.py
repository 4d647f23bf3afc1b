"""instance ram roles and metadata options

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instance_ram_roles",
        sa.Column("instance_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=16), nullable=False),
        sa.Column("role_id", sa.String(length=32), nullable=False),
        sa.Column("role_name", sa.String(length=64), nullable=False),
        sa.Column("policy", sa.Text(), nullable=True),
        sa.Column("attached_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name=op.f("fk_instance_ram_roles_instance_id_instances"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_instance_ram_roles_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["role_id"], ["ram_roles.id"], name=op.f("fk_instance_ram_roles_role_id_ram_roles")
        ),
        sa.PrimaryKeyConstraint("instance_id", name=op.f("pk_instance_ram_roles")),
    )
    with op.batch_alter_table("instance_ram_roles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_instance_ram_roles_role_id"), ["role_id"], unique=False)

    op.create_table(
        "instance_metadata_options",
        sa.Column("instance_id", sa.String(length=64), nullable=False),
        sa.Column("http_endpoint", sa.String(length=8), server_default="enabled", nullable=False),
        sa.Column("http_tokens", sa.String(length=8), server_default="optional", nullable=False),
        sa.Column("hop_limit", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name=op.f("fk_instance_metadata_options_instance_id_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instance_id", name=op.f("pk_instance_metadata_options")),
    )


def downgrade() -> None:
    op.drop_table("instance_metadata_options")
    with op.batch_alter_table("instance_ram_roles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_instance_ram_roles_role_id"))
    op.drop_table("instance_ram_roles")
