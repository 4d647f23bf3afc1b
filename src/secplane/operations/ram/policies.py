"""RAM policies (RAM-4): custom policies (create, get, update the description, delete, list) next to
the read-only system policies of ``domain.system_policies``.

A custom policy has up to ``MAX_VERSIONS`` versions (``policy_versions``), one of them the default; the
default's document is what applies. System policies answer every read like custom ones but exist once
for all accounts: writing to one finds no custom policy of that name (``EntityNotExist.Policy``), and no
custom policy may take a system policy's name. At most ``MAX_CUSTOM_POLICIES`` per account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Row

from secplane.domain import ids
from secplane.domain.policy import PolicyError, PolicyKind, parse_policy
from secplane.domain.system_policies import SYSTEM_POLICIES
from secplane.operations.context import Context
from secplane.operations.ram.common import (
    POLICY_NAME,
    PageRequest,
    already_exists,
    check_length,
    check_name,
    delete_conflict,
    iso,
    limit_exceeded,
    not_exist,
    page,
    page_fields,
    ram_arn,
)
from secplane.operations.ram.ram_tags import add_tags, parse_tags, render_tags, tag_filter
from secplane.operations.registry import RAM, Body, operation
from secplane.protocol.errors import ApiError
from secplane.protocol.params import Request
from secplane.store import ram_policies as store
from secplane.store.ram_groups import (
    all_in_account,
    count_in_account,
    delete_by_id,
    find_named,
    insert_row,
    update_by_id,
)
from secplane.store.ram_users import lock_account
from secplane.store.schema import ram_policies

MAX_CUSTOM_POLICIES = 1500  # per account (reference §11)
MAX_DOCUMENT_LENGTH = 6144  # characters, custom policy documents and trust policies
MAX_DESCRIPTION = 1024
MAX_NAME = 128

PolicyType = Literal["System", "Custom"]


# ---------------------------------------------------------------- shared with roles, versions, attachments


def check_document(param: str, text: str, kind: PolicyKind = "identity") -> str:
    """A valid policy document, or RAM's error: ``InvalidParameter.<param>.Length`` when empty or too long,
    ``MalformedPolicyDocument`` (naming the bad element) otherwise."""
    try:
        if not text:
            raise PolicyError("size", "The policy document is empty.")
        parse_policy(text, kind=kind, max_length=MAX_DOCUMENT_LENGTH)
    except PolicyError as exc:
        if exc.kind == "size":
            raise ApiError(
                f"InvalidParameter.{param}.Length",
                f'The parameter - "{param}" must be 1 to {MAX_DOCUMENT_LENGTH} characters. {exc.message}',
            ) from None
        raise ApiError(
            "MalformedPolicyDocument", f"The policy document is malformed. {exc.message}"
        ) from None
    return text


def check_policy_type(value: str) -> PolicyType:
    if value == "System":
        return "System"
    if value == "Custom":
        return "Custom"
    raise ApiError(
        "InvalidParameter.PolicyType", 'The parameter - "PolicyType" must be "System" or "Custom".'
    )


def policy_not_exist() -> ApiError:
    return not_exist("Policy", "The policy does not exist.")


@dataclass(frozen=True, slots=True)
class PolicyView:
    """A system or custom policy as every read shows it. ``row``: the custom policy's row."""

    policy_type: PolicyType
    name: str
    description: str
    default_version: str
    created: str
    updated: str
    row: Row[Any] | None = None

    @property
    def ref(self) -> tuple[str, str]:
        return self.policy_type, self.name

    def summary(self) -> Body:
        return {
            "PolicyName": self.name,
            "PolicyType": self.policy_type,
            "Description": self.description,
            "DefaultVersion": self.default_version,
        }


def _custom_view(row: Row[Any]) -> PolicyView:
    return PolicyView(
        "Custom",
        row.name,
        row.description,
        row.default_version,
        iso(row.created_at),
        iso(row.updated_at),
        row,
    )


def find_policy(ctx: Context, policy_type: str, name: str, *, lock: bool = False) -> PolicyView:
    """The named policy of the given type (a custom one locked with ``lock``), else
    ``EntityNotExist.Policy``."""
    if check_policy_type(policy_type) == "System":
        system = SYSTEM_POLICIES.get(name)
        if system is None:
            raise policy_not_exist()
        return PolicyView("System", name, system.description, system.version, system.created, system.updated)
    row = find_named(ctx.db, ctx.conn, ram_policies, ctx.account_id, name, lock=lock)
    if row is None:
        raise policy_not_exist()
    return _custom_view(row)


def custom_policy(ctx: Context, name: str) -> Row[Any]:
    """The custom policy to change, locked until commit (system policies are read-only)."""
    row = find_policy(ctx, "Custom", name, lock=True).row
    assert row is not None
    ctx.touched.append(name)
    return row


def default_document(ctx: Context, view: PolicyView) -> str:
    if view.row is None:
        return SYSTEM_POLICIES[view.name].document
    version = store.get_version(ctx.conn, view.row.id, view.default_version)
    assert version is not None, "a custom policy always has its default version"
    return str(version.document)


def policy_arn(ctx: Context, policy_type: str, name: str) -> str:
    """``acs:ram::<account>:policy/<name>``; system policies are ``acs:ram::system:policy/<name>``."""
    return f"acs:ram::system:policy/{name}" if policy_type == "System" else ram_arn(ctx, f"policy/{name}")


def named_policy_arn(ctx: Context, req: Any) -> list[str]:
    return [policy_arn(ctx, getattr(req, "policy_type", "Custom"), req.policy_name)]


def _any_policy_arn(ctx: Context, req: Any) -> list[str]:
    return [ram_arn(ctx, "policy/*")]


# ---------------------------------------------------------------- requests


class CreatePolicyRequest(Request):
    policy_name: str
    policy_document: str
    description: str = ""
    tag: str = ""


class TypedPolicyRequest(Request):
    """GetPolicy, ListEntitiesForPolicy, ListPolicyVersions."""

    policy_name: str
    policy_type: str


class UpdatePolicyDescriptionRequest(Request):
    policy_name: str
    new_description: str = ""


class DeletePolicyRequest(Request):
    policy_name: str
    cascading_delete: bool = False


class ListPoliciesRequest(PageRequest):
    policy_type: str = ""
    tag: str = ""


# ---------------------------------------------------------------- actions


@operation(RAM, "CreatePolicy", CreatePolicyRequest, resources=_any_policy_arn, writes=True, region="none")
def create_policy(ctx: Context, req: CreatePolicyRequest) -> Body:
    name = check_name("PolicyName", req.policy_name, POLICY_NAME, MAX_NAME)
    description = check_length("Description", req.description, MAX_DESCRIPTION)
    document = check_document("PolicyDocument", req.policy_document)
    pairs = parse_tags(req.tag)
    if name in SYSTEM_POLICIES:
        raise already_exists("Policy", f"{name} is a system policy. Choose another PolicyName.")
    lock_account(ctx.db, ctx.conn, ctx.account_id)
    if find_named(ctx.db, ctx.conn, ram_policies, ctx.account_id, name) is not None:
        raise already_exists("Policy", "The policy does already EXIST. Choose another PolicyName.")
    if count_in_account(ctx.conn, ram_policies, ctx.account_id) >= MAX_CUSTOM_POLICIES:
        raise limit_exceeded(
            "Policy",
            f"An account has at most {MAX_CUSTOM_POLICIES} custom policies. Delete unused ones first.",
        )
    policy_id = ids.ram_id()
    insert_row(
        ctx.conn, ram_policies, id=policy_id, account_id=ctx.account_id, name=name, description=description,
        default_version="v1", next_version=2, created_at=ctx.now, updated_at=ctx.now,
    )  # fmt: skip
    store.insert_version(ctx.conn, policy_id, "v1", document, ctx.now)
    add_tags(ctx, "policy", name, pairs)
    ctx.touched.append(name)
    return {
        "Policy": {
            "PolicyName": name,
            "PolicyType": "Custom",
            "Description": description,
            "DefaultVersion": "v1",
            "CreateDate": iso(ctx.now),
        }
    }


@operation(RAM, "GetPolicy", TypedPolicyRequest, resources=named_policy_arn, region="none")
def get_policy(ctx: Context, req: TypedPolicyRequest) -> Body:
    view = find_policy(ctx, req.policy_type, req.policy_name)
    document = default_document(ctx, view)
    attached = len(store.attached_to(ctx.conn, ctx.account_id, *view.ref))
    return {
        "Policy": {
            **view.summary(),
            "PolicyDocument": document,
            "AttachmentCount": attached,
            "CreateDate": view.created,
            "UpdateDate": view.updated,
        },
        "DefaultPolicyVersion": {
            "VersionId": view.default_version,
            "IsDefaultVersion": True,
            "PolicyDocument": document,
            "CreateDate": _version_created(ctx, view),
        },
    }


def _version_created(ctx: Context, view: PolicyView) -> str:
    if view.row is None:
        return view.created
    version = store.get_version(ctx.conn, view.row.id, view.default_version)
    return iso(version.created_at) if version is not None else view.created


@operation(
    RAM, "UpdatePolicyDescription", UpdatePolicyDescriptionRequest, resources=named_policy_arn, writes=True,
    region="none",
)  # fmt: skip
def update_policy_description(ctx: Context, req: UpdatePolicyDescriptionRequest) -> Body:
    description = check_length("NewDescription", req.new_description, MAX_DESCRIPTION)
    row = custom_policy(ctx, req.policy_name)
    update_by_id(ctx.conn, ram_policies, row.id, {"description": description, "updated_at": ctx.now})
    view = find_policy(ctx, "Custom", row.name)
    return {"Policy": {**view.summary(), "CreateDate": view.created, "UpdateDate": view.updated}}


_CONFLICTS = {
    "User": "The policy is attached to users. Detach it first (DetachPolicyFromUser).",
    "Group": "The policy is attached to groups. Detach it first (DetachPolicyFromGroup).",
    "Role": "The policy is attached to roles. Detach it first (DetachPolicyFromRole).",
}


@operation(RAM, "DeletePolicy", DeletePolicyRequest, resources=named_policy_arn, writes=True, region="none")
def delete_policy(ctx: Context, req: DeletePolicyRequest) -> Body:
    """Delete a custom policy nothing is attached to. Its non-default versions must be deleted first,
    unless ``CascadingDelete`` takes them along."""
    row = custom_policy(ctx, req.policy_name)
    kinds = {a.principal_type for a in store.attached_to(ctx.conn, ctx.account_id, "Custom", row.name)}
    for kind, message in _CONFLICTS.items():
        if kind in kinds:
            raise delete_conflict(f"Policy.{kind}", message)
    others = [v for v in store.versions(ctx.conn, row.id) if v.version_id != row.default_version]
    if others and not req.cascading_delete:
        raise delete_conflict(
            "Policy.Version",
            "The policy has non-default versions. Delete them first (DeletePolicyVersion), or set "
            "CascadingDelete=true.",
        )
    store.delete_versions(ctx.conn, row.id)
    store.remove_tags(ctx.conn, ctx.account_id, "policy", [row.name])
    delete_by_id(ctx.conn, ram_policies, row.id)
    return {}


@operation(RAM, "ListPolicies", ListPoliciesRequest, resources=_any_policy_arn, region="none")
def list_policies(ctx: Context, req: ListPoliciesRequest) -> Body:
    """System policies, then the account's custom ones, each by name; ``Tag`` keeps the custom policies
    carrying those tags (system policies have none)."""
    wanted = check_policy_type(req.policy_type) if req.policy_type else None
    tagged = tag_filter(ctx, "policy", req.tag)
    views: list[PolicyView] = []
    if wanted != "Custom" and tagged is None:
        views += [find_policy(ctx, "System", name) for name in sorted(SYSTEM_POLICIES)]
    if wanted != "System":
        rows = all_in_account(ctx.conn, ram_policies, ctx.account_id)
        views += [_custom_view(r) for r in rows if tagged is None or r.name in tagged]
    chunk, marker = page(views, req.marker, req.max_items)
    counts = store.attachment_counts(ctx.conn, ctx.account_id)
    tags = store.tags_of(ctx.conn, ctx.account_id, "policy", [v.name for v in chunk if v.row is not None])
    items = [
        {
            **v.summary(),
            "AttachmentCount": counts.get(v.ref, 0),
            "CreateDate": v.created,
            "UpdateDate": v.updated,
            "Tags": render_tags(tags.get(v.name, {}) if v.row is not None else {}),
        }
        for v in chunk
    ]
    return {**page_fields(marker), "Policies": {"Policy": items}}
