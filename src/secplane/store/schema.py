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

# ---------------------------------------------------------------- compute and security groups

security_groups = Table(
    "security_groups",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("account_id", String(16), ForeignKey("accounts.id"), nullable=False),
    Column("region_id", String(32), nullable=False),
    Column("vpc_id", String(64), nullable=False, server_default=""),  # "" for the classic network
    Column("name", String(128), nullable=False, server_default=""),
    Column("description", String(256), nullable=False, server_default=""),
    Column("group_type", String(16), nullable=False),  # normal | enterprise
    Column("inner_access_policy", String(8), nullable=False),  # Accept | Drop
    Column("resource_group_id", String(64), nullable=False),
    Column("service_managed", Boolean, nullable=False, default=False),
    Column("service_id", BigInteger, nullable=False, server_default="0"),
    Column("created_at", Float, nullable=False),
    # bumped by every change to the group's rules, policy or members: compiled forms key on it
    Column("revision", BigInteger, nullable=False, server_default="0"),
    # pages walk this index in id order: describe latency stays flat in the number of groups
    Index("ix_security_groups_account_region", "account_id", "region_id", "id"),
)

# A rule in one canonical shape for both directions: ``peer_*`` is the authorization object (the source
# of an ingress rule, the destination of an egress rule); ``local_cidr`` is the other address of a
# five-tuple rule. Unused fields are "" so that ``content_key`` (unique per group) catches duplicates.
sg_rules = Table(
    "sg_rules",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("security_group_id", String(64), ForeignKey("security_groups.id"), nullable=False),
    Column("direction", String(8), nullable=False),
    Column("policy", String(8), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("ip_protocol", String(8), nullable=False),
    Column("port_range", String(16), nullable=False),
    Column("source_port_range", String(16), nullable=False, server_default=""),
    Column("nic_type", String(16), nullable=False),
    Column("peer_cidr", String(64), nullable=False, server_default=""),
    Column("peer_group_id", String(64), nullable=False, server_default=""),
    Column("peer_group_owner", String(32), nullable=False, server_default=""),
    Column("peer_prefix_list_id", String(64), nullable=False, server_default=""),
    Column("local_cidr", String(64), nullable=False, server_default=""),
    Column("description", String(512), nullable=False, server_default=""),
    Column("content_key", String(400), nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ux_sg_rules_group_content", "security_group_id", "content_key", unique=True),
    Index("ix_sg_rules_peer_group", "peer_group_id"),
    Index("ix_sg_rules_peer_prefix_list", "peer_prefix_list_id"),
)

instances = Table(
    "instances",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("account_id", String(16), ForeignKey("accounts.id"), nullable=False),
    Column("region_id", String(32), nullable=False),
    Column("zone_id", String(32), nullable=False),
    Column("name", String(128), nullable=False),
    Column("description", String(256), nullable=False, server_default=""),
    Column("host_name", String(64), nullable=False),
    Column("image_id", String(128), nullable=False),
    Column("instance_type", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("network_type", String(8), nullable=False),  # vpc | classic
    Column("vpc_id", String(64), nullable=False, server_default=""),
    Column("vswitch_id", String(64), nullable=False, server_default=""),
    Column("public_ip", String(64), nullable=False, server_default=""),
    Column("key_pair_name", String(128), nullable=False, server_default=""),
    Column("pending_key_pair_name", String(128), nullable=True),  # applied at the next (re)start
    Column("password_login", Boolean, nullable=False, default=True),
    Column("deletion_protection", Boolean, nullable=False, default=False),
    Column("user_data", Text, nullable=False, server_default=""),
    Column("resource_group_id", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float, nullable=True),
    Index("ix_instances_account_region", "account_id", "region_id"),
)

network_interfaces = Table(
    "network_interfaces",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("account_id", String(16), ForeignKey("accounts.id"), nullable=False),
    Column("region_id", String(32), nullable=False),
    Column("zone_id", String(32), nullable=False),
    Column("vpc_id", String(64), nullable=False, server_default=""),
    Column("vswitch_id", String(64), nullable=False, server_default=""),
    Column("eni_type", String(16), nullable=False),  # Primary | Secondary
    Column("status", String(16), nullable=False),
    Column("instance_id", String(64), nullable=False, server_default="", index=True),
    Column("device_index", Integer, nullable=False, server_default="0"),
    Column("private_ip", String(64), nullable=False),
    Column("mac", String(17), nullable=False),
    Column("name", String(128), nullable=False, server_default=""),
    Column("description", String(256), nullable=False, server_default=""),
    Column("resource_group_id", String(64), nullable=False),
    Column("service_managed", Boolean, nullable=False, default=False),
    Column("service_id", BigInteger, nullable=False, server_default="0"),
    Column("delete_on_release", Boolean, nullable=False, default=True),
    Column("created_at", Float, nullable=False),
    Index("ix_network_interfaces_account_region", "account_id", "region_id"),
    Index("ix_network_interfaces_vswitch_ip", "vswitch_id", "private_ip"),
)

# Membership is per network interface: an instance's groups are those of its primary ENI.
sg_members = Table(
    "sg_members",
    metadata,
    Column("security_group_id", String(64), ForeignKey("security_groups.id"), primary_key=True),
    Column("network_interface_id", String(64), ForeignKey("network_interfaces.id"), primary_key=True),
    Column("created_at", Float, nullable=False),
    Index("ix_sg_members_eni", "network_interface_id"),
)

prefix_lists = Table(
    "prefix_lists",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("account_id", String(16), ForeignKey("accounts.id"), nullable=False),
    Column("region_id", String(32), nullable=False),
    Column("name", String(128), nullable=False),
    Column("description", String(256), nullable=False, server_default=""),
    Column("address_family", String(8), nullable=False),
    Column("max_entries", Integer, nullable=False),
    Column("resource_group_id", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("revision", BigInteger, nullable=False, server_default="0"),
    Index("ix_prefix_lists_account_region", "account_id", "region_id"),
)

prefix_list_entries = Table(
    "prefix_list_entries",
    metadata,
    Column("prefix_list_id", String(64), ForeignKey("prefix_lists.id"), primary_key=True),
    Column("cidr", String(64), primary_key=True),
    Column("description", String(64), nullable=False, server_default=""),
)

# ECS tags on any taggable resource (key pairs are tagged by name, as Alibaba does).
tags = Table(
    "tags",
    metadata,
    Column("account_id", String(16), primary_key=True),
    Column("region_id", String(32), primary_key=True),
    Column("resource_type", String(32), primary_key=True),
    Column("resource_id", String(128), primary_key=True),
    Column("tag_key", String(128), primary_key=True),
    Column("tag_value", String(128), nullable=False, server_default=""),
    Index("ix_tags_account_key", "account_id", "resource_type", "tag_key"),
)

# ---------------------------------------------------------------- SSH key pairs

# Only the public key is kept. A pair deleted while instances still used it stays as a tombstone
# (deleted=true): those instances keep showing its name, and the name cannot be taken again (KP-5).
key_pairs = Table(
    "key_pairs",
    metadata,
    Column("account_id", String(16), ForeignKey("accounts.id"), primary_key=True),
    Column("region_id", String(32), primary_key=True),
    Column("name", String(128), primary_key=True),
    Column("key_pair_id", String(64), nullable=False, unique=True),
    Column("fingerprint", String(64), nullable=False),
    Column("key_type", String(64), nullable=False),
    Column("public_key", Text, nullable=False),
    Column("resource_group_id", String(64), nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
)
