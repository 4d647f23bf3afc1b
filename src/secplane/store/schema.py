"""The tables. Times are UTC epoch seconds (float): compact, fast to compare, formatted at the edge.

Change a table only together with a new migration in ``migrations/versions``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Installation-wide facts (e.g. the master-key check value), one row per key.
meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("alias", String(64), nullable=False, server_default=""),
    Column("created_at", Float, nullable=False),
)

resource_groups = Table(
    "resource_groups",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("account_id", String(16), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("name", String(64), nullable=False),
    Column("display_name", String(128), nullable=False),
    Column("is_default", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
)

# Long-term access keys. user_name is NULL for the account's own (root) keys.
access_keys = Table(
    "access_keys",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("account_id", String(16), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("user_name", String(64), nullable=True),
    Column("secret_sealed", Text, nullable=False),
    Column("status", String(16), nullable=False, default="Active"),
    Column("created_at", Float, nullable=False),
)

# Signature nonces seen within the replay window, shared by every server process.
nonces = Table(
    "nonces",
    metadata,
    Column("access_key_id", String(64), primary_key=True),
    Column("nonce", String(128), primary_key=True),
    Column("created_at", Float, nullable=False, index=True),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False, index=True),
    Column("request_id", String(36), nullable=False),
    Column("account_id", String(16), nullable=False, server_default=""),
    Column("principal", String(256), nullable=False, server_default=""),
    Column("access_key_id", String(64), nullable=False, server_default=""),
    Column("source_ip", String(64), nullable=False, server_default=""),
    Column("product", String(32), nullable=False, server_default=""),
    Column("version", String(16), nullable=False, server_default=""),
    Column("action", String(128), nullable=False, server_default="", index=True),
    Column("resources", Text, nullable=False, server_default=""),
    Column("result", String(128), nullable=False),
    Column("http_status", Integer, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("message", Text, nullable=False, server_default=""),
)

# ClientToken idempotency: the first result of a creating call, replayed for the same token.
idempotency = Table(
    "idempotency",
    metadata,
    Column("account_id", String(16), primary_key=True),
    Column("action", String(128), primary_key=True),
    Column("client_token", String(64), primary_key=True),
    Column("params_digest", String(64), nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)

vpcs = Table(
    "vpcs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("account_id", String(16), ForeignKey("accounts.id"), nullable=False),
    Column("region_id", String(32), nullable=False),
    Column("cidr_block", String(64), nullable=False),
    Column("name", String(128), nullable=False, server_default=""),
    Column("description", String(256), nullable=False, server_default=""),
    Column("status", String(16), nullable=False),
    Column("is_default", Boolean, nullable=False, default=False),
    Column("vrouter_id", String(64), nullable=False),
    Column("route_table_id", String(64), nullable=False),
    Column("resource_group_id", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_vpcs_account_region", "account_id", "region_id"),
)

vswitches = Table(
    "vswitches",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("account_id", String(16), ForeignKey("accounts.id"), nullable=False),
    Column("region_id", String(32), nullable=False),
    Column("vpc_id", String(64), ForeignKey("vpcs.id"), nullable=False, index=True),
    Column("zone_id", String(32), nullable=False),
    Column("cidr_block", String(64), nullable=False),
    Column("name", String(128), nullable=False, server_default=""),
    Column("description", String(256), nullable=False, server_default=""),
    Column("status", String(16), nullable=False),
    Column("resource_group_id", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_vswitches_account_region", "account_id", "region_id"),
)
