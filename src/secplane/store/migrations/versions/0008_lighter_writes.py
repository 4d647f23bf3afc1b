"""lighter writes: partial indexes on the peers of security-group rules; SQLite nonces without rowid

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_NAMES_GROUP = "peer_group_id <> ''"
_NAMES_LIST = "peer_prefix_list_id <> ''"
_HAS_PEER = f"({_NAMES_GROUP} OR {_NAMES_LIST})"


def _partial(name: str, column: str, condition: str) -> None:
    where = sa.text(condition)
    op.create_index(name, "sg_rules", [column], sqlite_where=where, postgresql_where=where)


def upgrade() -> None:
    op.drop_index("ix_sg_rules_peer_group", table_name="sg_rules")
    op.drop_index("ix_sg_rules_peer_prefix_list", table_name="sg_rules")
    _partial("ix_sg_rules_peer_group", "peer_group_id", _NAMES_GROUP)
    _partial("ix_sg_rules_peer_prefix_list", "peer_prefix_list_id", _NAMES_LIST)
    _partial("ix_sg_rules_group_peers", "security_group_id", _HAS_PEER)
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_nonces(with_rowid=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_nonces(with_rowid=True)
    op.drop_index("ix_sg_rules_group_peers", table_name="sg_rules")
    op.drop_index("ix_sg_rules_peer_prefix_list", table_name="sg_rules")
    op.drop_index("ix_sg_rules_peer_group", table_name="sg_rules")
    op.create_index("ix_sg_rules_peer_prefix_list", "sg_rules", ["peer_prefix_list_id"])
    op.create_index("ix_sg_rules_peer_group", "sg_rules", ["peer_group_id"])


def _rebuild_nonces(*, with_rowid: bool) -> None:
    """SQLite cannot change a table's storage in place: copy the nonces (the replay window must not
    reopen) into a new table of the other kind."""
    suffix = "" if with_rowid else " WITHOUT ROWID"
    op.execute(
        "CREATE TABLE nonces_new (access_key_id VARCHAR(64) NOT NULL, nonce VARCHAR(128) NOT NULL, "
        f"created_at FLOAT NOT NULL, CONSTRAINT pk_nonces PRIMARY KEY (access_key_id, nonce)){suffix}"
    )
    op.execute("INSERT INTO nonces_new SELECT access_key_id, nonce, created_at FROM nonces")
    op.drop_index("ix_nonces_created_at", table_name="nonces")
    op.drop_table("nonces")
    op.rename_table("nonces_new", "nonces")
    op.create_index("ix_nonces_created_at", "nonces", ["created_at"])
