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
    text,
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
    # the newest successful call the key signed; the audit writer moves it with each batch
    Column("last_used_at", Float, nullable=True),
)

# Signature nonces seen within the replay window, shared by every server process.
nonces = Table(
    "nonces",
    metadata,
    Column("access_key_id", String(64), primary_key=True),
    Column("nonce", String(128), primary_key=True),
    Column("created_at", Float, nullable=False, index=True),
    # SQLite: one b-tree keyed by the primary key, not a rowid table plus an index on that key (a claim
    # writes two pages instead of three)
    sqlite_with_rowid=False,
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
# The conditions of sg_rules' partial indexes. A query can use such an index only when its WHERE repeats
# the condition as written here (a bound parameter in its place would not do): the store's queries use
# these very strings.
RULE_NAMES_GROUP = "peer_group_id <> ''"
RULE_NAMES_LIST = "peer_prefix_list_id <> ''"
RULE_HAS_PEER = f"({RULE_NAMES_GROUP} OR {RULE_NAMES_LIST})"


def _partial_index(name: str, column: str, *, condition: str) -> Index:
    where = text(condition)
    return Index(name, column, sqlite_where=where, postgresql_where=where)


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
    # Partial: most rules name no group and no prefix list, and adding those writes none of these
    # indexes. A query uses one only when its WHERE repeats the index's condition (see the store).
    _partial_index("ix_sg_rules_peer_group", "peer_group_id", condition=RULE_NAMES_GROUP),
    _partial_index("ix_sg_rules_peer_prefix_list", "peer_prefix_list_id", condition=RULE_NAMES_LIST),
    # the rules that count differently against the group's limits (quota_used)
    _partial_index("ix_sg_rules_group_peers", "security_group_id", condition=RULE_HAS_PEER),
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

# ---------------------------------------------------------------- RAM and STS
# Users, groups and roles are referenced by their numeric id, so a rename touches one row (access keys,
# which predate RAM, carry the user *name* and are renamed with the user).

ram_users = Table(
    "ram_users",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(16), ForeignKey("accounts.id"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("display_name", String(128), nullable=False, server_default=""),
    Column("mobile_phone", String(64), nullable=False, server_default=""),
    Column("email", String(128), nullable=False, server_default=""),
    Column("comments", String(128), nullable=False, server_default=""),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("last_login_at", Float, nullable=True),
    Index("uq_ram_users_account_name", "account_id", "name", unique=True),
)

# Console password of a user: a scrypt hash, with earlier hashes for PasswordReusePrevention.
ram_login_profiles = Table(
    "ram_login_profiles",
    metadata,
    Column("user_id", String(32), ForeignKey("ram_users.id"), primary_key=True),
    Column("password_hash", Text, nullable=False),
    Column("previous_hashes", Text, nullable=False, server_default="[]"),  # JSON list, newest first
    Column("password_reset_required", Boolean, nullable=False, default=False),
    Column("mfa_bind_required", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

ram_groups = Table(
    "ram_groups",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(16), ForeignKey("accounts.id"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("comments", String(128), nullable=False, server_default=""),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("uq_ram_groups_account_name", "account_id", "name", unique=True),
)

ram_group_members = Table(
    "ram_group_members",
    metadata,
    Column("group_id", String(32), ForeignKey("ram_groups.id"), primary_key=True),
    Column("user_id", String(32), ForeignKey("ram_users.id"), primary_key=True, index=True),
    Column("joined_at", Float, nullable=False),
)

ram_roles = Table(
    "ram_roles",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(16), ForeignKey("accounts.id"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("description", String(1024), nullable=False, server_default=""),
    Column("trust_policy", Text, nullable=False),
    Column("max_session_duration", Integer, nullable=False, default=3600),
    Column("allow_console_login", Boolean, nullable=False, default=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("uq_ram_roles_account_name", "account_id", "name", unique=True),
)

# RAM tags (roles and policies), JSON-array strings on the wire.
ram_tags = Table(
    "ram_tags",
    metadata,
    Column("account_id", String(16), primary_key=True),
    Column("resource_type", String(16), primary_key=True),  # role | policy
    Column("resource_name", String(128), primary_key=True),
    Column("tag_key", String(128), primary_key=True),
    Column("tag_value", String(128), nullable=False, server_default=""),
)

# Custom policies. System policies are not stored: they are code (domain.system_policies), the same in
# every account and read-only.
ram_policies = Table(
    "ram_policies",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(16), ForeignKey("accounts.id"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("description", String(1024), nullable=False, server_default=""),
    Column("default_version", String(16), nullable=False),
    Column("next_version", Integer, nullable=False),  # v<n> of the next CreatePolicyVersion
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("uq_ram_policies_account_name", "account_id", "name", unique=True),
)

ram_policy_versions = Table(
    "ram_policy_versions",
    metadata,
    Column("policy_id", String(32), ForeignKey("ram_policies.id"), primary_key=True),
    Column("version_id", String(16), primary_key=True),
    Column("document", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)

# A policy (System or Custom, by name) attached to a user, group or role (by id), for the whole account
# (resource_group_id "") or for one resource group.
ram_attachments = Table(
    "ram_attachments",
    metadata,
    Column("account_id", String(16), ForeignKey("accounts.id"), primary_key=True),
    Column("principal_type", String(8), primary_key=True),  # User | Group | Role
    Column("principal_id", String(32), primary_key=True),
    Column("policy_type", String(8), primary_key=True),  # System | Custom
    Column("policy_name", String(128), primary_key=True),
    Column("resource_group_id", String(64), primary_key=True, server_default=""),
    Column("attached_at", Float, nullable=False),
    Index("ix_ram_attachments_policy", "account_id", "policy_type", "policy_name"),
)

# Virtual MFA devices; the TOTP seed is sealed with the master key.
ram_mfa_devices = Table(
    "ram_mfa_devices",
    metadata,
    Column("account_id", String(16), ForeignKey("accounts.id"), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("seed_sealed", Text, nullable=False),
    Column("user_id", String(32), ForeignKey("ram_users.id"), nullable=True, unique=True),
    Column("activated_at", Float, nullable=True),
    Column("last_code_step", BigInteger, nullable=True),  # a TOTP code is accepted once
    Column("created_at", Float, nullable=False),
)

# Per-account RAM settings, JSON documents in their wire shape (password policy, security preference).
ram_settings = Table(
    "ram_settings",
    metadata,
    Column("account_id", String(16), ForeignKey("accounts.id"), primary_key=True),
    Column("name", String(32), primary_key=True),
    Column("document", Text, nullable=False),
)

# Bumped by every RAM write in the same transaction: every server process keys its compiled-policy
# cache on it, so a change in one process is seen by the next call in any other.
ram_revisions = Table(
    "ram_revisions",
    metadata,
    Column("account_id", String(16), ForeignKey("accounts.id"), primary_key=True),
    Column("revision", BigInteger, nullable=False),
)

# STS role sessions. The secret is sealed; the security token is a random string of which only the
# SHA-256 is kept. ``caller`` is the ARN (or service name) that assumed the role: the trust policy is
# evaluated against it again while the session is used.
sts_sessions = Table(
    "sts_sessions",
    metadata,
    Column("access_key_id", String(64), primary_key=True),
    Column("account_id", String(16), ForeignKey("accounts.id"), nullable=False),
    Column("role_id", String(32), nullable=False, index=True),
    Column("session_name", String(64), nullable=False),
    Column("secret_sealed", Text, nullable=False),
    Column("token_sha256", String(64), nullable=False),
    Column("session_policy", Text, nullable=True),
    Column("caller", String(256), nullable=False),
    Column("source_identity", String(128), nullable=False, server_default=""),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
)

# ---- instance RAM roles and metadata options
# One role per instance (the primary key). Rows go with their instance (ON DELETE CASCADE). A role an
# instance uses cannot be deleted: DeleteRole asks ``store.instance_roles.role_in_use``, and the foreign
# key to ram_roles is the backstop. ``policy`` is AttachInstanceRamRole's extra policy, applied as the
# session policy of the credentials the metadata service hands out.
instance_ram_roles = Table(
    "instance_ram_roles",
    metadata,
    Column("instance_id", String(64), ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True),
    Column("account_id", String(16), ForeignKey("accounts.id"), nullable=False),
    Column("role_id", String(32), ForeignKey("ram_roles.id"), nullable=False, index=True),
    Column("role_name", String(64), nullable=False),
    Column("policy", Text, nullable=True),
    Column("attached_at", Float, nullable=False),
)

# ModifyInstanceMetadataOptions; an instance without a row has the defaults (enabled, optional, 1).
instance_metadata_options = Table(
    "instance_metadata_options",
    metadata,
    Column("instance_id", String(64), ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True),
    Column("http_endpoint", String(8), nullable=False, server_default="enabled"),
    Column("http_tokens", String(8), nullable=False, server_default="optional"),
    Column("hop_limit", Integer, nullable=False, server_default="1"),
)

# ---------------------------------------------------------------- risk snapshots
# The daily risk report (SPEC SG-18, store.risk): a run holds every group's findings (domain.risk) as
# the rules were when it ran. Readers take the latest finished run of a day. The children of a run are
# deleted with it by store.risk (no foreign keys: a run inserts a million rows, checks would cost).

risk_runs = Table(
    "risk_runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("day", String(10), nullable=False),  # YYYY-MM-DD (UTC) the snapshot stands for
    Column("status", String(16), nullable=False),  # running | done | failed
    Column("taken_by", String(128), nullable=False, server_default=""),  # host:pid, or "cli"
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float, nullable=True),
    Column("groups", Integer, nullable=False, server_default="0"),  # groups looked at
    Column("rules", BigInteger, nullable=False, server_default="0"),  # rules looked at
    Column("findings", BigInteger, nullable=False, server_default="0"),
    Index("ix_risk_runs_day", "day", "status"),
)

# Who takes a day's scheduled snapshot: the server process whose insert of the day's row succeeds.
risk_days = Table(
    "risk_days",
    metadata,
    Column("day", String(10), primary_key=True),
    Column("run_id", String(32), nullable=False),
    Column("claimed_at", Float, nullable=False),
)

# One row per group with findings in a run; ``rank`` orders the riskiest first (store.risk.rank_of).
risk_groups = Table(
    "risk_groups",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("security_group_id", String(64), primary_key=True),
    Column("account_id", String(16), nullable=False),
    Column("region_id", String(32), nullable=False),
    Column("level", Integer, nullable=False),  # the worst finding: 3 serious, 2 warning, 1 info
    Column("serious", Integer, nullable=False),
    Column("warning", Integer, nullable=False),
    Column("info", Integer, nullable=False),
    Column("rules", Integer, nullable=False),
    Column("rank", BigInteger, nullable=False),
    Index("ix_risk_groups_rank", "run_id", "account_id", "region_id", "rank"),
)

# A finding, with the offending rule's fields as they were (the rule may be gone since).
risk_findings = Table(
    "risk_findings",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("security_group_id", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("level", Integer, nullable=False),
    Column("code", String(32), nullable=False),
    Column("rule_id", String(64), nullable=False, server_default=""),
    Column("direction", String(8), nullable=False, server_default=""),
    Column("policy", String(8), nullable=False, server_default=""),
    Column("priority", Integer, nullable=False, server_default="0"),
    Column("ip_protocol", String(8), nullable=False, server_default=""),
    Column("port_range", String(16), nullable=False, server_default=""),
    Column("nic_type", String(16), nullable=False, server_default=""),
    Column("peer_cidr", String(64), nullable=False, server_default=""),
    Column("peer_group_id", String(64), nullable=False, server_default=""),
    Column("peer_prefix_list_id", String(64), nullable=False, server_default=""),
    Column("ports", Text, nullable=False, server_default=""),  # "22,3306"
    Column("related", Text, nullable=False, server_default=""),  # rule ids, comma-separated
    Column("rules", Integer, nullable=False, server_default="0"),  # TooManyRules: how many
)
