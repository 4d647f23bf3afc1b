"""Policy attachments (RAM-4): ``AttachPolicyTo{User,Group,Role}``, ``DetachPolicyFrom{...}``,
``ListPoliciesFor{...}`` and ``ListEntitiesForPolicy``.

A grant covers the whole account, or with ``ResourceGroupId`` one resource group (the same policy may be
attached once per scope). Per principal at most ``LIMITS[principal][policy type]`` policies, every scope
counted (reference §11), checked under the principal row's lock; the lock order is principal, then the
custom policy, so that a concurrent DeletePolicy sees every attachment.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from secplane.operations.context import Context
from secplane.operations.ecs.common import resource_group
from secplane.operations.ram.common import already_exists, iso, limit_exceeded, not_exist, ram_arn
from secplane.operations.ram.lookup import Entity, existing
from secplane.operations.ram.policies import PolicyView, find_policy, named_policy_arn, policy_arn
from secplane.operations.registry import RAM, Body, operation
from secplane.protocol.params import Request
from secplane.store import ram_policies as store

# (reference §11: 20 system / 10 custom per user since 2021; 20 system / 5 custom per group and role)
LIMITS: dict[Entity, dict[str, int]] = {
    "User": {"System": 20, "Custom": 10},
    "Group": {"System": 20, "Custom": 5},
    "Role": {"System": 20, "Custom": 5},
}


# ---------------------------------------------------------------- requests


class _Attachment(Protocol):
    policy_type: str
    policy_name: str
    resource_group_id: str


class UserAttachmentRequest(Request):
    policy_type: str
    policy_name: str
    user_name: str
    resource_group_id: str = ""


class GroupAttachmentRequest(Request):
    policy_type: str
    policy_name: str
    group_name: str
    resource_group_id: str = ""


class RoleAttachmentRequest(Request):
    policy_type: str
    policy_name: str
    role_name: str
    resource_group_id: str = ""


class UserPoliciesRequest(Request):
    user_name: str


class GroupPoliciesRequest(Request):
    group_name: str


class RolePoliciesRequest(Request):
    role_name: str


class EntitiesForPolicyRequest(Request):
    policy_name: str
    policy_type: str


# ---------------------------------------------------------------- the three principal kinds


def _principal_name(entity: Entity, req: Any) -> str:
    return str(getattr(req, f"{entity.lower()}_name"))


def _policy_of(ctx: Context, req: _Attachment) -> PolicyView:
    view = find_policy(ctx, req.policy_type, req.policy_name, lock=True)
    if req.resource_group_id:
        resource_group(ctx, req.resource_group_id)  # must exist in the account
    return view


def _attach(ctx: Context, entity: Entity, req: _Attachment) -> Body:
    """Grant the policy to the principal, for the account or one resource group."""
    principal = existing(ctx, entity, _principal_name(entity, req), lock=True)
    view = _policy_of(ctx, req)
    key = (entity, principal.id)
    if store.is_attached(ctx.conn, ctx.account_id, key, view.ref, req.resource_group_id):
        raise already_exists(f"{entity}.Policy", f"The policy is already attached to the {entity.lower()}.")
    limit = LIMITS[entity][view.policy_type]
    if store.count_attached(ctx.conn, ctx.account_id, key, view.policy_type) >= limit:
        raise limit_exceeded(
            f"{entity}.Policy",
            f"A {entity.lower()} has at most {limit} {view.policy_type.lower()} policies attached. "
            "Detach one first.",
        )
    store.attach(ctx.conn, ctx.account_id, key, view.ref, req.resource_group_id, ctx.now)
    ctx.touched.append(view.name)
    return {}


def _detach(ctx: Context, entity: Entity, req: _Attachment) -> Body:
    """Revoke one grant (the scope given by ``ResourceGroupId``, "" for the account)."""
    principal = existing(ctx, entity, _principal_name(entity, req), lock=True)
    view = _policy_of(ctx, req)
    if not store.detach(ctx.conn, ctx.account_id, (entity, principal.id), view.ref, req.resource_group_id):
        raise not_exist(f"{entity}.Policy", f"The policy is not attached to the {entity.lower()}.")
    ctx.touched.append(view.name)
    return {}


def _list(ctx: Context, entity: Entity, req: Any) -> Body:
    """The principal's own policies (not those it has through groups), in the order attached."""
    principal = existing(ctx, entity, _principal_name(entity, req))
    items = [
        {**find_policy(ctx, a.policy_type, a.policy_name).summary(), "AttachDate": iso(a.attached_at)}
        for a in store.attachments_of(ctx.conn, ctx.account_id, entity, principal.id)
    ]
    return {"Policies": {"Policy": items}}


def _declare(entity: Entity, attachment: type[Request], listing: type[Request]) -> None:
    """Register Attach/Detach/ListPoliciesFor for one principal kind."""

    def principal_arn(ctx: Context, req: Any) -> list[str]:
        return [ram_arn(ctx, f"{entity.lower()}/{_principal_name(entity, req)}")]

    def both_arns(ctx: Context, req: Any) -> list[str]:
        return [*principal_arn(ctx, req), policy_arn(ctx, req.policy_type, req.policy_name)]

    def handler(action: Callable[[Context, Entity, Any], Body]) -> Callable[[Context, Any], Body]:
        def run(ctx: Context, req: Any) -> Body:
            return action(ctx, entity, req)

        run.__doc__ = action.__doc__
        return run

    operation(RAM, f"AttachPolicyTo{entity}", attachment, resources=both_arns, writes=True, region="none")(
        handler(_attach)
    )
    operation(RAM, f"DetachPolicyFrom{entity}", attachment, resources=both_arns, writes=True, region="none")(
        handler(_detach)
    )
    operation(RAM, f"ListPoliciesFor{entity}", listing, resources=principal_arn, region="none")(
        handler(_list)
    )


_declare("User", UserAttachmentRequest, UserPoliciesRequest)
_declare("Group", GroupAttachmentRequest, GroupPoliciesRequest)
_declare("Role", RoleAttachmentRequest, RolePoliciesRequest)


# ---------------------------------------------------------------- by policy


@operation(RAM, "ListEntitiesForPolicy", EntitiesForPolicyRequest, resources=named_policy_arn, region="none")
def list_entities_for_policy(ctx: Context, req: EntitiesForPolicyRequest) -> Body:
    """The users, groups and roles the policy is attached to (once per scope), in the order attached."""
    view = find_policy(ctx, req.policy_type, req.policy_name)
    attachments = store.attached_to(ctx.conn, ctx.account_id, *view.ref)
    rows = {
        kind: store.entity_rows(
            ctx.conn, table, [a.principal_id for a in attachments if a.principal_type == kind]
        )
        for kind, table in store.PRINCIPAL_TABLES.items()
    }
    users, groups, roles = [], [], []
    for a in attachments:
        row, date = rows[a.principal_type].get(a.principal_id), iso(a.attached_at)
        if row is None:
            continue
        if a.principal_type == "User":
            users.append(
                {"UserId": row.id, "UserName": row.name, "DisplayName": row.display_name, "AttachDate": date}
            )
        elif a.principal_type == "Group":
            groups.append({"GroupName": row.name, "Comments": row.comments, "AttachDate": date})
        else:
            arn = ram_arn(ctx, f"role/{row.name}")
            roles.append(
                {
                    "RoleId": row.id,
                    "RoleName": row.name,
                    "Arn": arn,
                    "Description": row.description,
                    "AttachDate": date,
                }
            )
    return {"Users": {"User": users}, "Groups": {"Group": groups}, "Roles": {"Role": roles}}
