"""when each access key last signed a successful call (GetAccessKeyLastUsed)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("access_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_used_at", sa.Float(), nullable=True))
    # what the trail already knows
    op.execute(
        "UPDATE access_keys SET last_used_at = (SELECT MAX(at) FROM audit_events "
        "WHERE audit_events.access_key_id = access_keys.id AND audit_events.result = 'Success')"
    )


def downgrade() -> None:
    with op.batch_alter_table("access_keys", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
