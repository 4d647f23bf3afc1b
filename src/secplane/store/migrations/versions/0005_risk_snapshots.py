"""risk snapshots

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "risk_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("taken_by", sa.String(length=128), server_default="", nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.Column("groups", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rules", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("findings", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_runs")),
    )
    op.create_index("ix_risk_runs_day", "risk_runs", ["day", "status"], unique=False)
    op.create_table(
        "risk_days",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("claimed_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_risk_days")),
    )
    op.create_table(
        "risk_groups",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("security_group_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=16), nullable=False),
        sa.Column("region_id", sa.String(length=32), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("serious", sa.Integer(), nullable=False),
        sa.Column("warning", sa.Integer(), nullable=False),
        sa.Column("info", sa.Integer(), nullable=False),
        sa.Column("rules", sa.Integer(), nullable=False),
        sa.Column("rank", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "security_group_id", name=op.f("pk_risk_groups")),
    )
    op.create_index(
        "ix_risk_groups_rank", "risk_groups", ["run_id", "account_id", "region_id", "rank"], unique=False
    )
    op.create_table(
        "risk_findings",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("security_group_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("rule_id", sa.String(length=64), server_default="", nullable=False),
        sa.Column("direction", sa.String(length=8), server_default="", nullable=False),
        sa.Column("policy", sa.String(length=8), server_default="", nullable=False),
        sa.Column("priority", sa.Integer(), server_default="0", nullable=False),
        sa.Column("ip_protocol", sa.String(length=8), server_default="", nullable=False),
        sa.Column("port_range", sa.String(length=16), server_default="", nullable=False),
        sa.Column("nic_type", sa.String(length=16), server_default="", nullable=False),
        sa.Column("peer_cidr", sa.String(length=64), server_default="", nullable=False),
        sa.Column("peer_group_id", sa.String(length=64), server_default="", nullable=False),
        sa.Column("peer_prefix_list_id", sa.String(length=64), server_default="", nullable=False),
        sa.Column("ports", sa.Text(), server_default="", nullable=False),
        sa.Column("related", sa.Text(), server_default="", nullable=False),
        sa.Column("rules", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("run_id", "security_group_id", "seq", name=op.f("pk_risk_findings")),
    )


def downgrade() -> None:
    op.drop_table("risk_findings")
    op.drop_index("ix_risk_groups_rank", table_name="risk_groups")
    op.drop_table("risk_groups")
    op.drop_table("risk_days")
    op.drop_index("ix_risk_runs_day", table_name="risk_runs")
    op.drop_table("risk_runs")
