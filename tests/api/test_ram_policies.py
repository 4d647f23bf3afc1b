"""RAM policies (RAM-4): custom policies and their versions, system policies, attachments, and what the
authorizer loads for a principal (``store.ram_policies.principal_policies``, on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import partial

import pytest
from alibabacloud_ram20150501 import models as m
from alibabacloud_ram20150501.client import Client
from aliyunsdkram.request.v20150501.CreatePolicyRequest import CreatePolicyRequest as LegacyCreatePolicy
from aliyunsdkram.request.v20150501.GetPolicyRequest import GetPolicyRequest as LegacyGetPolicy
from aliyunsdkram.request.v20150501.ListPolicyVersionsRequest import (
    ListPolicyVersionsRequest as LegacyListVersions,
)
from sqlalchemy import insert

from secplane.domain.system_policies import SYSTEM_POLICIES
from secplane.operations.ram.attachments import LIMITS
from secplane.operations.ram.lookup import Entity
from secplane.operations.ram.policies import MAX_CUSTOM_POLICIES
from secplane.operations.ram.policy_versions import MAX_VERSIONS, ROTATE
from secplane.store import accounts
from secplane.store.ram_policies import AttachedPolicy, principal_policies
from secplane.store.schema import ram_policies
from secplane.testing import RunningServer
from tests.api.test_prefix_lists import expect_error, expect_legacy_error
from tests.api.test_ram_groups import IDENTITY_DOCUMENT, new_group, new_policy, new_user, ram, unique
from tests.api.test_ram_roles import new_role
from tests.api.test_security_groups import other_account
from tests.conftest import legacy_call, server_db

__all__ = ["ram"]  # the module-scoped client fixture


def document(*actions: str) -> str:
    return json.dumps(
        {"Version": "1", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}
    )


def versions(client: Client, name: str, policy_type: str = "Custom") -> list[tuple[str, bool]]:
    request = m.ListPolicyVersionsRequest(policy_name=name, policy_type=policy_type)
    items = client.list_policy_versions(request).body.policy_versions.policy_version
    return [(v.version_id, v.is_default_version) for v in items]


def new_version(client: Client, name: str, doc: str = IDENTITY_DOCUMENT, **kw: object) -> str:
    request = m.CreatePolicyVersionRequest(policy_name=name, policy_document=doc, **kw)
    return str(client.create_policy_version(request).body.policy_version.version_id)


def default_rg(running: RunningServer) -> str:
    with server_db(running) as conn:
        return accounts.default_resource_group(conn, running.account_id)


# ---------------------------------------------------------------- custom policies


def test_policy_lifecycle(ram: Client) -> None:
    name = unique("p")
    tags = [m.CreatePolicyRequestTag(key="owner", value="sec")]
    created = ram.create_policy(
        m.CreatePolicyRequest(
            policy_name=name, policy_document=IDENTITY_DOCUMENT, description="read ECS", tag=tags
        )
    ).body.policy
    assert (created.policy_name, created.policy_type, created.default_version) == (name, "Custom", "v1")
    assert created.description == "read ECS" and created.create_date

    got = ram.get_policy(m.GetPolicyRequest(policy_name=name, policy_type="Custom")).body
    assert (got.policy.policy_document, got.policy.attachment_count) == (IDENTITY_DOCUMENT, 0)
    assert (got.default_policy_version.version_id, got.default_policy_version.is_default_version) == (
        "v1",
        True,
    )
    assert got.default_policy_version.policy_document == IDENTITY_DOCUMENT

    updated = ram.update_policy_description(
        m.UpdatePolicyDescriptionRequest(policy_name=name, new_description="new words")
    ).body.policy
    assert (updated.description, updated.policy_type, updated.default_version) == (
        "new words",
        "Custom",
        "v1",
    )

    listed = ram.list_policies(
        m.ListPoliciesRequest(policy_type="Custom", max_items=1000)
    ).body.policies.policy
    mine = next(p for p in listed if p.policy_name == name)
    assert (mine.description, mine.attachment_count) == ("new words", 0)
    assert [(t.tag_key, t.tag_value) for t in mine.tags.tag] == [("owner", "sec")]
    assert all(p.policy_type == "Custom" for p in listed)

    ram.delete_policy(m.DeletePolicyRequest(policy_name=name))
    expect_error(
        lambda: ram.get_policy(m.GetPolicyRequest(policy_name=name, policy_type="Custom")),
        "EntityNotExist.Policy",
        404,
    )


@pytest.mark.parametrize(
    ("request_kw", "code"),
    [
        ({"policy_name": "under_score"}, "InvalidParameter.PolicyName.InvalidChars"),
        ({"policy_name": "p" * 129}, "InvalidParameter.PolicyName.Length"),
        ({"description": "d" * 1025}, "InvalidParameter.Description.Length"),
        ({"policy_document": " " * 6145}, "InvalidParameter.PolicyDocument.Length"),
        ({"policy_document": ""}, "InvalidParameter.PolicyDocument.Length"),
        (
            {"policy_document": '{"Version": "1", "Statement": [{"Effect": "Maybe"}]}'},
            "MalformedPolicyDocument",
        ),
    ],
)
def test_create_policy_refuses_bad_input(ram: Client, request_kw: dict[str, str], code: str) -> None:
    kw = {"policy_name": unique("p"), "policy_document": IDENTITY_DOCUMENT, **request_kw}
    expect_error(lambda: ram.create_policy(m.CreatePolicyRequest(**kw)), code)


def test_malformed_document_message_names_the_element(ram: Client) -> None:
    bad = json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ecs:Describe*"}]})
    err = expect_error(
        lambda: ram.create_policy(m.CreatePolicyRequest(policy_name=unique("p"), policy_document=bad)),
        "MalformedPolicyDocument",
    )
    assert "Statement[0]" in err.message and "Resource" in err.message


def test_policy_names_are_unique_and_not_system_names(ram: Client) -> None:
    name = new_policy(ram)
    for taken in (name, "AdministratorAccess"):
        request = m.CreatePolicyRequest(policy_name=taken, policy_document=IDENTITY_DOCUMENT)
        expect_error(partial(ram.create_policy, request), "EntityAlreadyExists.Policy", 409)


def test_policy_type_must_be_system_or_custom(ram: Client) -> None:
    name = new_policy(ram)
    expect_error(
        lambda: ram.get_policy(m.GetPolicyRequest(policy_name=name, policy_type="Managed")),
        "InvalidParameter.PolicyType",
    )
    expect_error(
        lambda: ram.list_policies(m.ListPoliciesRequest(policy_type="x")), "InvalidParameter.PolicyType"
    )
    expect_error(
        lambda: ram.get_policy(m.GetPolicyRequest(policy_name=name, policy_type="System")),
        "EntityNotExist.Policy",
        404,
    )


def test_custom_policies_per_account_limit(api: RunningServer) -> None:
    account_id, config = other_account(api)
    now = time.time()
    with server_db(api) as conn:
        conn.execute(
            insert(ram_policies),
            [
                {"id": f"8{account_id[:8]}{i:07d}", "account_id": account_id, "name": f"bulk-{i}",
                 "description": "", "default_version": "v1", "next_version": 2, "created_at": now,
                 "updated_at": now}
                for i in range(MAX_CUSTOM_POLICIES)
            ],
        )  # fmt: skip
    expect_error(lambda: new_policy(Client(config)), "LimitExceeded.Policy", 409)


def test_list_policies_filters_by_tag(api: RunningServer) -> None:
    _, config = other_account(api)
    client = Client(config)
    tagged = new_policy(client, tag=[m.CreatePolicyRequestTag(key="team", value="blue")])
    new_policy(client)
    request = m.ListPoliciesRequest(tag=[m.ListPoliciesRequestTag(key="team", value="blue")])
    assert [p.policy_name for p in client.list_policies(request).body.policies.policy] == [tagged]


# ---------------------------------------------------------------- versions


def test_versions_and_the_default(ram: Client) -> None:
    name = new_policy(ram)
    assert new_version(ram, name, document("ecs:StartInstance")) == "v2"
    assert new_version(ram, name, document("ecs:StopInstance"), set_as_default=True) == "v3"
    assert versions(ram, name) == [("v1", False), ("v2", False), ("v3", True)]
    got = ram.get_policy(m.GetPolicyRequest(policy_name=name, policy_type="Custom")).body
    assert (got.policy.default_version, got.policy.policy_document) == ("v3", document("ecs:StopInstance"))

    v2 = ram.get_policy_version(
        m.GetPolicyVersionRequest(policy_name=name, policy_type="Custom", version_id="v2")
    ).body.policy_version
    assert (v2.policy_document, v2.is_default_version) == (document("ecs:StartInstance"), False)

    ram.set_default_policy_version(m.SetDefaultPolicyVersionRequest(policy_name=name, version_id="v2"))
    assert versions(ram, name) == [("v1", False), ("v2", True), ("v3", False)]
    expect_error(
        lambda: ram.delete_policy_version(m.DeletePolicyVersionRequest(policy_name=name, version_id="v2")),
        "DeleteConflict.Policy.Version.Default",
        409,
    )
    ram.delete_policy_version(m.DeletePolicyVersionRequest(policy_name=name, version_id="v3"))
    assert new_version(ram, name) == "v4"  # ids are never reused
    assert versions(ram, name) == [("v1", False), ("v2", True), ("v4", False)]


def test_version_errors(ram: Client) -> None:
    name = new_policy(ram)
    for version_id, code, status in (("1", "InvalidParameter.VersionId.Format", 400),
                                     ("v9", "EntityNotExist.Policy.Version", 404)):  # fmt: skip
        key = {"policy_name": name, "version_id": version_id}
        for call in (
            partial(ram.get_policy_version, m.GetPolicyVersionRequest(policy_type="Custom", **key)),
            partial(ram.set_default_policy_version, m.SetDefaultPolicyVersionRequest(**key)),
            partial(ram.delete_policy_version, m.DeletePolicyVersionRequest(**key)),
        ):
            expect_error(call, code, status)
    expect_error(lambda: new_version(ram, name, "not json"), "MalformedPolicyDocument")
    expect_error(lambda: new_version(ram, name, "x" * 6145), "InvalidParameter.PolicyDocument.Length")
    expect_error(
        lambda: new_version(ram, name, rotate_strategy="Sometimes"), "InvalidParameter.RotateStrategy"
    )
    expect_error(lambda: new_version(ram, unique("p")), "EntityNotExist.Policy", 404)


def test_version_limit_and_rotation(ram: Client) -> None:
    name = new_policy(ram)
    for _ in range(MAX_VERSIONS - 1):
        new_version(ram, name)
    expect_error(lambda: new_version(ram, name), "LimitExceeded.Policy.Version", 409)
    ram.set_default_policy_version(m.SetDefaultPolicyVersionRequest(policy_name=name, version_id="v2"))
    assert new_version(ram, name, rotate_strategy=ROTATE) == "v6"  # v1, the oldest non-default, goes
    assert versions(ram, name) == [("v2", True), ("v3", False), ("v4", False), ("v5", False), ("v6", False)]
    assert new_version(ram, name, rotate_strategy=ROTATE, set_as_default=True) == "v7"
    assert versions(ram, name) == [("v2", False), ("v4", False), ("v5", False), ("v6", False), ("v7", True)]


def test_delete_policy_needs_versions_and_attachments_gone(ram: Client) -> None:
    name = new_policy(ram)
    new_version(ram, name)
    expect_error(
        lambda: ram.delete_policy(m.DeletePolicyRequest(policy_name=name)),
        "DeleteConflict.Policy.Version",
        409,
    )
    user, group, role = new_user(ram), new_group(ram), new_role(ram)
    for kind, principal in (("User", user), ("Group", group), ("Role", role)):
        attach_request = getattr(m, f"AttachPolicyTo{kind}Request")
        detach_request = getattr(m, f"DetachPolicyFrom{kind}Request")
        kw = {"policy_type": "Custom", "policy_name": name, f"{kind.lower()}_name": principal}
        getattr(ram, f"attach_policy_to_{kind.lower()}")(attach_request(**kw))
        expect_error(
            lambda: ram.delete_policy(m.DeletePolicyRequest(policy_name=name, cascading_delete=True)),
            f"DeleteConflict.Policy.{kind}",
            409,
        )
        getattr(ram, f"detach_policy_from_{kind.lower()}")(detach_request(**kw))
    ram.delete_policy(m.DeletePolicyRequest(policy_name=name, cascading_delete=True))
    expect_error(lambda: versions(ram, name), "EntityNotExist.Policy", 404)
    new_policy_named(ram, name)  # the name is free again, with a fresh v1
    assert versions(ram, name) == [("v1", True)]


def new_policy_named(client: Client, name: str) -> None:
    client.create_policy(m.CreatePolicyRequest(policy_name=name, policy_document=IDENTITY_DOCUMENT))


# ---------------------------------------------------------------- system policies


def test_system_policies_are_listed_and_readable(ram: Client) -> None:
    listed = ram.list_policies(
        m.ListPoliciesRequest(policy_type="System", max_items=1000)
    ).body.policies.policy
    assert sorted(p.policy_name for p in listed) == sorted(SYSTEM_POLICIES)
    for name, policy in SYSTEM_POLICIES.items():
        got = ram.get_policy(m.GetPolicyRequest(policy_name=name, policy_type="System")).body
        assert (got.policy.policy_type, got.policy.default_version) == ("System", policy.version)
        assert (got.policy.policy_document, got.policy.description) == (policy.document, policy.description)
        assert (got.policy.create_date, got.policy.update_date) == (policy.created, policy.updated)
    assert versions(ram, "AliyunECSFullAccess", "System") == [("v1", True)]
    version = ram.get_policy_version(
        m.GetPolicyVersionRequest(
            policy_name="AliyunRAMReadOnlyAccess", policy_type="System", version_id="v3"
        )
    ).body.policy_version
    assert version.policy_document == SYSTEM_POLICIES["AliyunRAMReadOnlyAccess"].document
    expect_error(
        lambda: ram.get_policy_version(
            m.GetPolicyVersionRequest(
                policy_name="AliyunRAMReadOnlyAccess", policy_type="System", version_id="v1"
            )
        ),
        "EntityNotExist.Policy.Version",
        404,
    )


def test_system_policies_are_read_only(ram: Client) -> None:
    name = "AdministratorAccess"
    for call in (
        lambda: new_version(ram, name),
        lambda: ram.delete_policy(m.DeletePolicyRequest(policy_name=name)),
        lambda: ram.update_policy_description(
            m.UpdatePolicyDescriptionRequest(policy_name=name, new_description="x")
        ),
        lambda: ram.set_default_policy_version(
            m.SetDefaultPolicyVersionRequest(policy_name=name, version_id="v1")
        ),
        lambda: ram.delete_policy_version(m.DeletePolicyVersionRequest(policy_name=name, version_id="v1")),
    ):
        expect_error(call, "EntityNotExist.Policy", 404)
    got = ram.get_policy(m.GetPolicyRequest(policy_name=name, policy_type="System")).body.policy
    assert got.policy_document == SYSTEM_POLICIES[name].document


# ---------------------------------------------------------------- attachments


def _grant(action: str, client: Client, kind: str, principal: str, policy: str, policy_type: str = "Custom",
           rg: str = "") -> None:  # fmt: skip
    """``AttachPolicyTo<kind>`` or ``DetachPolicyFrom<kind>`` (``action``) through the Tea client."""
    request = getattr(m, f"{action}{kind}Request")(
        policy_type=policy_type, policy_name=policy, resource_group_id=rg or None,
        **{f"{kind.lower()}_name": principal},
    )  # fmt: skip
    method = {"AttachPolicyTo": "attach_policy_to_", "DetachPolicyFrom": "detach_policy_from_"}[action]
    getattr(client, f"{method}{kind.lower()}")(request)


_attach = partial(_grant, "AttachPolicyTo")
_detach = partial(_grant, "DetachPolicyFrom")


def _policies_for(client: Client, kind: str, principal: str) -> list[tuple[str, str]]:
    request = getattr(m, f"ListPoliciesFor{kind}Request")(**{f"{kind.lower()}_name": principal})
    body = getattr(client, f"list_policies_for_{kind.lower()}")(request).body
    return [(p.policy_type, p.policy_name) for p in body.policies.policy]


@pytest.mark.parametrize("kind", ["User", "Group", "Role"])
def test_attach_detach_and_list(api: RunningServer, ram: Client, kind: str) -> None:
    principal = {"User": new_user, "Group": new_group, "Role": new_role}[kind](ram)
    custom = new_policy(ram, description="mine")
    _attach(ram, kind, principal, "AliyunECSReadOnlyAccess", "System")
    _attach(ram, kind, principal, custom)
    assert _policies_for(ram, kind, principal) == [("System", "AliyunECSReadOnlyAccess"), ("Custom", custom)]
    listed = getattr(ram, f"list_policies_for_{kind.lower()}")(
        getattr(m, f"ListPoliciesFor{kind}Request")(**{f"{kind.lower()}_name": principal})
    ).body.policies.policy
    assert (listed[1].description, listed[1].default_version) == ("mine", "v1") and listed[1].attach_date

    expect_error(lambda: _attach(ram, kind, principal, custom), f"EntityAlreadyExists.{kind}.Policy", 409)
    _attach(ram, kind, principal, custom, rg=default_rg(api))  # another scope: a second grant
    expect_error(
        lambda: _attach(ram, kind, principal, custom, rg="rg-nosuchgroup"),
        "InvalidResourceGroup.NotFound",
        404,
    )
    entities = ram.list_entities_for_policy(
        m.ListEntitiesForPolicyRequest(policy_name=custom, policy_type="Custom")
    ).body
    found = {"User": entities.users.user, "Group": entities.groups.group, "Role": entities.roles.role}[kind]
    assert [getattr(e, f"{kind.lower()}_name") for e in found] == [principal, principal]
    got = ram.get_policy(m.GetPolicyRequest(policy_name=custom, policy_type="Custom")).body.policy
    assert got.attachment_count == 2

    _detach(ram, kind, principal, custom)
    _detach(ram, kind, principal, custom, rg=default_rg(api))
    expect_error(lambda: _detach(ram, kind, principal, custom), f"EntityNotExist.{kind}.Policy", 404)
    expect_error(lambda: _attach(ram, kind, principal, unique("p")), "EntityNotExist.Policy", 404)
    expect_error(
        lambda: _attach(ram, kind, principal, "NoSuchSystemPolicy", "System"), "EntityNotExist.Policy", 404
    )
    expect_error(lambda: _attach(ram, kind, unique("x"), custom), f"EntityNotExist.{kind}", 404)
    expect_error(lambda: _attach(ram, kind, principal, custom, "Other"), "InvalidParameter.PolicyType")
    assert _policies_for(ram, kind, principal) == [("System", "AliyunECSReadOnlyAccess")]


def test_list_entities_for_policy_shape(api: RunningServer, ram: Client) -> None:
    policy, user, group, role = new_policy(ram), new_user(ram), new_group(ram, "c"), new_role(ram)
    for kind, principal in (("User", user), ("Group", group), ("Role", role)):
        _attach(ram, kind, principal, policy)
    body = ram.list_entities_for_policy(
        m.ListEntitiesForPolicyRequest(policy_name=policy, policy_type="Custom")
    ).body
    (u,), (g,), (r,) = body.users.user, body.groups.group, body.roles.role
    assert (u.user_name, bool(u.user_id), bool(u.attach_date)) == (user, True, True)
    assert (g.group_name, g.comments) == (group, "c")
    assert (r.role_name, r.arn) == (role, f"acs:ram::{api.account_id}:role/{role}")


@pytest.mark.parametrize(("kind", "make"), [("User", new_user), ("Group", new_group)])
def test_custom_attachment_limits(ram: Client, kind: Entity, make: Callable[[Client], str]) -> None:
    principal = make(ram)
    limit = LIMITS[kind]["Custom"]
    for _ in range(limit):
        _attach(ram, kind, principal, new_policy(ram))
    extra = new_policy(ram)
    expect_error(lambda: _attach(ram, kind, principal, extra), f"LimitExceeded.{kind}.Policy", 409)
    _attach(ram, kind, principal, "AliyunVPCReadOnlyAccess", "System")  # system policies count apart


def test_system_attachment_limit_counts_every_scope(api: RunningServer, ram: Client) -> None:
    role, rg = new_role(ram), default_rg(api)
    names = sorted(SYSTEM_POLICIES)
    limit = LIMITS["Role"]["System"]
    for name in names:
        _attach(ram, "Role", role, name, "System")
    for name in names[: limit - len(names)]:
        _attach(ram, "Role", role, name, "System", rg=rg)
    expect_error(
        lambda: _attach(ram, "Role", role, names[-1], "System", rg=rg), "LimitExceeded.Role.Policy", 409
    )


# ---------------------------------------------------------------- what the authorizer loads (store level)


def test_principal_policies(any_api: RunningServer) -> None:
    client = Client(any_api.tea_config())
    user, first, second, outside, role = (
        new_user(client), new_group(client), new_group(client), new_group(client), new_role(client),
    )  # fmt: skip
    for group in (first, second):
        client.add_user_to_group(m.AddUserToGroupRequest(group_name=group, user_name=user))
    own, shared, foreign = new_policy(client), new_policy(client), new_policy(client)
    new_version(client, own, document("ecs:StopInstance"), set_as_default=True)
    new_version(client, shared, document("vpc:Describe*"))  # not the default: v1 applies
    rg = default_rg(any_api)
    _attach(client, "User", user, own)
    _attach(client, "User", user, "AliyunECSReadOnlyAccess", "System", rg=rg)
    _attach(client, "Group", first, shared)
    _attach(client, "Group", second, "AliyunSTSAssumeRoleAccess", "System")
    _attach(client, "Group", outside, foreign)
    _attach(client, "Role", role, shared)

    user_id = client.get_user(m.GetUserRequest(user_name=user)).body.user.user_id
    role_id = client.get_role(m.GetRoleRequest(role_name=role)).body.role.role_id
    group_id = client.get_group(m.GetGroupRequest(group_name=first)).body.group.group_id
    with server_db(any_api) as conn:  # no API calls while this holds the SQLite write lock
        loaded = principal_policies(conn, any_api.account_id, "user", user_id)
        for_role = principal_policies(conn, any_api.account_id, "role", role_id)
        nobody = principal_policies(conn, any_api.account_id, "user", "0")
        for_group = principal_policies(conn, any_api.account_id, "group", group_id)  # the simulator's view

    system, sts = SYSTEM_POLICIES["AliyunECSReadOnlyAccess"], SYSTEM_POLICIES["AliyunSTSAssumeRoleAccess"]
    assert len(loaded) == 4 and set(loaded) == {
        AttachedPolicy("Custom", own, "v2", document("ecs:StopInstance"), "", ""),
        AttachedPolicy("System", system.name, system.version, system.document, rg, ""),
        AttachedPolicy("Custom", shared, "v1", IDENTITY_DOCUMENT, "", f"group/{first}"),
        AttachedPolicy("System", sts.name, sts.version, sts.document, "", f"group/{second}"),
    }
    assert for_role == [AttachedPolicy("Custom", shared, "v1", IDENTITY_DOCUMENT, "", "")]
    assert nobody == []
    assert for_group == [AttachedPolicy("Custom", shared, "v1", IDENTITY_DOCUMENT, "", "")]


# ---------------------------------------------------------------- legacy SDK (V1 signatures)


def test_legacy_sdk(api: RunningServer) -> None:
    name = unique("p")
    create = LegacyCreatePolicy()
    create.set_PolicyName(name)
    create.set_PolicyDocument(IDENTITY_DOCUMENT)
    create.set_Description("legacy")
    policy = json.loads(legacy_call(api, create))["Policy"]
    assert (policy["PolicyName"], policy["PolicyType"], policy["DefaultVersion"]) == (name, "Custom", "v1")

    get = LegacyGetPolicy()
    get.set_PolicyName("AliyunECSFullAccess")
    get.set_PolicyType("System")
    body = json.loads(legacy_call(api, get))
    assert body["Policy"]["PolicyDocument"] == SYSTEM_POLICIES["AliyunECSFullAccess"].document
    assert body["DefaultPolicyVersion"]["IsDefaultVersion"] is True

    listing = LegacyListVersions()
    listing.set_PolicyName(name)
    listing.set_PolicyType("Custom")
    listed = json.loads(legacy_call(api, listing))["PolicyVersions"]["PolicyVersion"]
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in listed] == [("v1", True)]

    bad = LegacyCreatePolicy()
    bad.set_PolicyName(unique("p"))
    bad.set_PolicyDocument('{"Version": "1"}')
    assert "Statement" in expect_legacy_error(api, bad, "MalformedPolicyDocument", 400)
