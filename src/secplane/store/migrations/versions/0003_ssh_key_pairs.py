"""ssh key pairs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_pairs",
        sa.Column("account_id", sa.String(length=16), nullable=False),
        sa.Column("region_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("key_pair_id", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("key_type", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("resource_group_id", sa.String(length=64), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_key_pairs_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", "region_id", "name", name=op.f("pk_key_pairs")),
        sa.UniqueConstraint("key_pair_id", name=op.f("uq_key_pairs_key_pair_id")),
    )


def downgrade() -> None:
    op.drop_table("key_pairs")
