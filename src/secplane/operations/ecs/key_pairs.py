"""SSH key pairs (KP-1..KP-5): create, import, describe, delete, attach to and detach from instances.

Pairs are addressed by name, unique per account and region, at most 500 per account and region. Only
public keys are stored: the private key of CreateKeyPair lives in this process between its generation
and the response body, is never logged, and is never part of an audit record (CreateKeyPair takes no
ClientToken, so no response is kept for replay either).

Binding (KP-4) follows ``store.key_pairs``: a stopped instance takes a change at once; a running one
keeps its current pair until StartInstance/RebootInstance applies the pending change
(``apply_pending_key_pair``). DescribeInstances shows the pair in effect. The pending one is shown by our
own action ``DescribeInstanceKeyPairs`` (product ``Secplane`` 2026-11-28, RegionId + InstanceIds as a
JSON array): per instance ``KeyPairName`` (in effect), ``PendingKeyPairName``, ``PendingOperation``
(``Attach``/``Detach``/"") and ``PasswordLoginEnabled``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row

from secplane.domain import ids, ssh_keys
from secplane.domain.catalog import IMAGES_BY_ID
from secplane.operations.context import Context
from secplane.operations.ecs.common import (
    TagParam,
    iso_seconds,
    render_tags,
    resource_group,
    tag_filters,
    validate_tags,
)
from secplane.operations.paging import page_fields, page_window
from secplane.operations.registry import ECS, SECPLANE, Body, operation
from secplane.protocol.errors import ApiError, missing_parameter, not_found
from secplane.protocol.params import Request
from secplane.store import compute
from secplane.store import key_pairs as store

MAX_PER_REGION = 500
MAX_DELETE = 100
MAX_INSTANCES = 50
MAX_DESCRIBE_INSTANCES = 100
MAX_PAGE_SIZE = 50

# 2-128 characters: a (Unicode) letter first, then letters, digits and ``. _ - :``.
_NAME = re.compile(r"[^\W\d_][\w.:\-]{1,127}")
_SUCCESS_CODE, _SUCCESS_MESSAGE = "200", "successful"
_SETTLED = ("Running", "Stopped")


# ---------------------------------------------------------------- requests
# RegionId is required by the gateway (region="required"), which resolves ctx.region_id; the fields
# below only document it.


class CreateKeyPairRequest(Request):
    key_pair_name: str
    region_id: str = ""
    resource_group_id: str = ""
    tag: list[TagParam] = []


class ImportKeyPairRequest(Request):
    key_pair_name: str
    public_key_body: str
    region_id: str = ""
    resource_group_id: str = ""
    tag: list[TagParam] = []


class DescribeKeyPairsRequest(Request):
    region_id: str = ""
    key_pair_name: str = ""
    key_pair_finger_print: str = ""
    include_public_key: bool = False
    resource_group_id: str = ""
    tag: list[TagParam] = []
    page_number: int = 1
    page_size: int = 10


class DeleteKeyPairsRequest(Request):
    key_pair_names: list[str]
    region_id: str = ""


class KeyPairInstancesRequest(Request):
    """AttachKeyPair and DetachKeyPair."""

    key_pair_name: str
    instance_ids: list[str]
    region_id: str = ""


class DescribeInstanceKeyPairsRequest(Request):
    instance_ids: list[str]
    region_id: str = ""


# ---------------------------------------------------------------- RAM resources


def _pair_arn(ctx: Context, req: Any) -> list[str]:
    return [ctx.arn(f"keypair/{req.key_pair_name}")]


def _any_pair_arn(ctx: Context, req: Any) -> list[str]:
    return [ctx.arn("keypair/*")]


def _pair_arns(ctx: Context, req: DeleteKeyPairsRequest) -> list[str]:
    return [ctx.arn(f"keypair/{n}") for n in dict.fromkeys(req.key_pair_names)] or _any_pair_arn(ctx, req)


def _instance_arns(ctx: Context, req: Any) -> list[str]:
    return [ctx.arn(f"instance/{i}", service="ecs") for i in dict.fromkeys(req.instance_ids)]


def _binding_arns(ctx: Context, req: KeyPairInstancesRequest) -> list[str]:
    return [*_pair_arn(ctx, req), *_instance_arns(ctx, req)]


# ---------------------------------------------------------------- checks


def check_name(name: str) -> str:
    if not name:
        raise missing_parameter("KeyPairName")
    if not _NAME.fullmatch(name):
        raise ApiError(
            "InvalidKeyPairName.Malformed",
            "Specified Key Pair name is not valid. It must be 2 to 128 characters long, start with a "
            "letter, and contain only letters, digits, '.', '_', '-' and ':'.",
        )
    return name


def _pair_not_found(name: str) -> ApiError:
    return not_found(
        "InvalidKeyPairName.NotFound",
        f"The specified KeyPairName does not exist in our records: {name!r} in this region.",
    )


def _instance_ids(values: Sequence[str], limit: int) -> list[str]:
    unique = list(dict.fromkeys(v.strip() for v in values if v.strip()))
    if not 1 <= len(unique) <= limit:
        raise ApiError(
            "InvalidInstanceIds.ValueNotSupported",
            f"The specified parameter InstanceIds is not valid. Give a JSON array of 1 to {limit} "
            'instance ids, such as ["i-bp1…"].',
        )
    return unique


# ---------------------------------------------------------------- Create / Import


def _register(ctx: Context, name: str, key: ssh_keys.PublicKey, group_id: str, pairs: dict[str, str]) -> str:
    """Store the public half under ``name``: unique, within the quota (checked under the account lock)."""
    group = resource_group(ctx, group_id)
    store.lock_account(ctx.db, ctx.conn, ctx.account_id)
    existing = store.get(ctx.conn, ctx.account_id, ctx.region_id, name)
    if existing is not None:
        why = " A deleted key pair that instances still use keeps this name." if existing.deleted else ""
        raise ApiError("KeyPair.AlreadyExist", f"The key pair already exist.{why}")
    if store.count_live(ctx.conn, ctx.account_id, ctx.region_id) >= MAX_PER_REGION:
        raise ApiError(
            "QuotaExceed.KeyPair",
            f"The key pair quota exceeds: at most {MAX_PER_REGION} key pairs per region. Delete unused ones.",
            403,
        )
    key_pair_id = ids.resource_id("ssh", ctx.region_id)
    store.insert_pair(
        ctx.conn,
        account_id=ctx.account_id, region_id=ctx.region_id, name=name, key_pair_id=key_pair_id,
        fingerprint=key.fingerprint, key_type=key.key_type, public_key=key.openssh,
        resource_group_id=group, created_at=ctx.now,
    )  # fmt: skip
    store.set_tags(ctx.conn, ctx.account_id, ctx.region_id, name, pairs)
    ctx.touched.append(name)
    return key_pair_id


@operation(ECS, "CreateKeyPair", CreateKeyPairRequest, resources=_pair_arn, writes=True)
def create_key_pair(ctx: Context, req: CreateKeyPairRequest) -> Body:
    name = check_name(req.key_pair_name)
    pairs = validate_tags(req.tag)
    generated = ssh_keys.generate_rsa()  # before the transaction opens: no lock is held meanwhile
    key_pair_id = _register(ctx, name, generated.public, req.resource_group_id, pairs)
    return {
        "KeyPairName": name,
        "KeyPairId": key_pair_id,
        "KeyPairFingerPrint": generated.public.fingerprint,
        "PrivateKeyBody": generated.private_pem,
    }


@operation(ECS, "ImportKeyPair", ImportKeyPairRequest, resources=_pair_arn, writes=True)
def import_key_pair(ctx: Context, req: ImportKeyPairRequest) -> Body:
    name = check_name(req.key_pair_name)
    if not req.public_key_body.strip():
        raise missing_parameter("PublicKeyBody")
    try:
        key = ssh_keys.parse_public_key(req.public_key_body)
    except ssh_keys.KeyFormatError as exc:
        raise ApiError(
            "InvalidPublicKeyBody.Malformed", f"The PublicKeyBody format is not supported. {exc}"
        ) from None
    pairs = validate_tags(req.tag)
    _register(ctx, name, key, req.resource_group_id, pairs)
    return {"KeyPairName": name, "KeyPairFingerPrint": key.fingerprint}


# ---------------------------------------------------------------- Describe


def _render(row: Row[Any], tags: list[tuple[str, str]], include_public_key: bool) -> Body:
    item: Body = {
        "KeyPairName": row.name,
        "KeyPairFingerPrint": row.fingerprint,
        "CreationTime": iso_seconds(row.created_at),
        "ResourceGroupId": row.resource_group_id,
        "Tags": render_tags(tags),
    }
    if include_public_key:
        item["PublicKey"] = row.public_key
    return item


@operation(ECS, "DescribeKeyPairs", DescribeKeyPairsRequest, resources=_any_pair_arn)
def describe_key_pairs(ctx: Context, req: DescribeKeyPairsRequest) -> Body:
    offset, limit = page_window(req.page_number, req.page_size, MAX_PAGE_SIZE)
    fingerprint = ssh_keys.normalize_fingerprint(req.key_pair_finger_print)
    filters = store.Filters(
        name=req.key_pair_name or None,
        fingerprint=fingerprint or None,
        resource_group_id=req.resource_group_id or None,
        tags=tag_filters(req.tag),
    )
    page = store.list_page(ctx.conn, ctx.account_id, ctx.region_id, filters, offset, limit)
    tags = store.tags_of(ctx.conn, ctx.account_id, ctx.region_id, [row.name for row in page.rows])
    items = [_render(row, tags.get(row.name, []), req.include_public_key) for row in page.rows]
    return {**page_fields(page.total, req.page_number, req.page_size), "KeyPairs": {"KeyPair": items}}


# ---------------------------------------------------------------- Delete


@operation(ECS, "DeleteKeyPairs", DeleteKeyPairsRequest, resources=_pair_arns, writes=True)
def delete_key_pairs(ctx: Context, req: DeleteKeyPairsRequest) -> Body:
    """Delete every named pair there is; names that match none are ignored (partial success). A pair
    still bound to instances becomes a tombstone: they keep it, and its name stays taken (KP-5)."""
    names = sorted({n for n in req.key_pair_names if n})
    if not 1 <= len(names) <= MAX_DELETE:
        raise ApiError(
            "InvalidKeyPairNames.ValueNotSupported",
            f'The specified parameter "KeyPairNames" is not valid. Give a JSON array of 1 to {MAX_DELETE} '
            'names, such as ["kp1","kp2"].',
        )
    for name in names:
        row = store.lock(ctx.db, ctx.conn, ctx.account_id, ctx.region_id, name)
        if row is None or row.deleted:
            continue
        if store.is_bound(ctx.conn, ctx.account_id, ctx.region_id, name):
            store.tombstone(ctx.conn, ctx.account_id, ctx.region_id, name)
        else:
            store.delete_pair(ctx.conn, ctx.account_id, ctx.region_id, name)
        store.remove_tags(ctx.conn, ctx.account_id, ctx.region_id, [name])
        ctx.touched.append(name)
    return {}


# ---------------------------------------------------------------- Attach / Detach


@dataclass(frozen=True, slots=True)
class _Outcome:
    instance_id: str
    code: str = _SUCCESS_CODE
    message: str = _SUCCESS_MESSAGE

    @property
    def success(self) -> bool:
        return self.code == _SUCCESS_CODE


def _lock_instances(ctx: Context, instance_ids: list[str]) -> dict[str, Row[Any] | None]:
    """The caller's instances in this region, locked in id order (None: not found here)."""
    out: dict[str, Row[Any] | None] = {}
    for instance_id in sorted(instance_ids):
        row = compute.lock_instance(ctx.db, ctx.conn, ctx.account_id, instance_id)
        out[instance_id] = row if row is not None and row.region_id == ctx.region_id else None
    return out


def _refusal(row: Row[Any]) -> _Outcome | None:
    """Why no key pair can be attached to or detached from this instance, if none can."""
    image = IMAGES_BY_ID.get(row.image_id)
    if image is not None and image.is_windows:
        return _Outcome(
            row.id,
            "DependencyViolation.WindowsInstance",
            "The instance creating is windows, cannot use ssh key pair to login",
        )
    if row.status not in _SETTLED:
        return _Outcome(
            row.id,
            "IncorrectInstanceStatus",
            f"The current status of the resource does not support this operation: {row.status}.",
        )
    return None


def _results(name: str, outcomes: list[_Outcome]) -> Body:
    return {
        "KeyPairName": name,
        "TotalCount": len(outcomes),
        "FailCount": sum(not o.success for o in outcomes),
        "Results": {
            "Result": [
                {"InstanceId": o.instance_id, "Success": o.success, "Code": o.code, "Message": o.message}
                for o in outcomes
            ]
        },
    }


def _for_each_instance(
    ctx: Context, req: KeyPairInstancesRequest, deleted_ok: bool, change: Callable[[Row[Any]], _Outcome]
) -> Body:
    """Apply ``change`` to each instance that can take it; one refusal does not stop the others, every
    instance gets its own result (HTTP 200 even when all fail)."""
    name = req.key_pair_name
    if not name:
        raise missing_parameter("KeyPairName")
    instance_ids = _instance_ids(req.instance_ids, MAX_INSTANCES)
    pair = store.lock(ctx.db, ctx.conn, ctx.account_id, ctx.region_id, name)
    if pair is None or (pair.deleted and not deleted_ok):
        raise _pair_not_found(name)
    locked = _lock_instances(ctx, instance_ids)
    outcomes: list[_Outcome] = []
    for instance_id in instance_ids:
        row = locked[instance_id]
        if row is None:
            outcome = _Outcome(
                instance_id, "InvalidInstanceId.NotFound", "The specified InstanceId does not exist."
            )
        else:
            outcome = _refusal(row) or change(row)
        if outcome.success:
            ctx.touched.append(instance_id)
        outcomes.append(outcome)
    return _results(name, outcomes)


@operation(ECS, "AttachKeyPair", KeyPairInstancesRequest, resources=_binding_arns, writes=True)
def attach_key_pair(ctx: Context, req: KeyPairInstancesRequest) -> Body:
    """Bind the pair to Linux instances, replacing their pair; password login goes off once it applies."""

    def attach(row: Row[Any]) -> _Outcome:
        store.bind(ctx.conn, row, req.key_pair_name)
        return _Outcome(row.id)

    return _for_each_instance(ctx, req, False, attach)


@operation(ECS, "DetachKeyPair", KeyPairInstancesRequest, resources=_binding_arns, writes=True)
def detach_key_pair(ctx: Context, req: KeyPairInstancesRequest) -> Body:
    """Unbind the pair from instances that have it — a deleted pair too, as instances may still use
    it. Password login then needs a password reset."""

    def detach(row: Row[Any]) -> _Outcome:
        if store.desired_key_pair(row) != req.key_pair_name:
            return _Outcome(
                row.id,
                "InvalidKeyPairName.NotFound",
                f"The key pair {req.key_pair_name!r} is not bound to instance {row.id}.",
            )
        store.unbind(ctx.conn, row)
        return _Outcome(row.id)

    return _for_each_instance(ctx, req, True, detach)


# ---------------------------------------------------------------- for RunInstances / CreateInstance


def key_pair_for_new_instance(ctx: Context, name: str, windows: bool) -> str:
    """What a new instance's ``KeyPairName`` binds: the pair must exist (404 otherwise); Windows
    instances take none (Alibaba ignores it for them). The pair row stays locked, so a concurrent
    DeleteKeyPairs sees the new binding."""
    if not name:
        return ""
    pair = store.lock(ctx.db, ctx.conn, ctx.account_id, ctx.region_id, name)
    if pair is None or pair.deleted:
        raise _pair_not_found(name)
    return "" if windows else name


# ---------------------------------------------------------------- Secplane: the pending state


def _pending_operation(pending: str | None) -> str:
    if pending is None:
        return ""
    return "Attach" if pending else "Detach"


@operation(SECPLANE, "DescribeInstanceKeyPairs", DescribeInstanceKeyPairsRequest, resources=_instance_arns)
def describe_instance_key_pairs(ctx: Context, req: DescribeInstanceKeyPairsRequest) -> Body:
    """Per instance: the pair in effect, the change waiting for the next start or reboot, and whether
    password login is on. Instances that are not the caller's (in this region) are left out."""
    instance_ids = _instance_ids(req.instance_ids, MAX_DESCRIBE_INSTANCES)
    rows = store.bindings(ctx.conn, ctx.account_id, ctx.region_id, instance_ids)
    items = [
        {
            "InstanceId": row.id,
            "KeyPairName": row.key_pair_name,
            "PendingKeyPairName": row.pending_key_pair_name or "",
            "PendingOperation": _pending_operation(row.pending_key_pair_name),
            "PasswordLoginEnabled": bool(row.password_login),
        }
        for row in rows
    ]
    return {"Instances": {"Instance": items}}
