"""STS through the official SDKs: AssumeRole's checks (caller permission, trust policy, session name,
duration, session policy), temporary credentials on ECS calls with both SDK generations and the
credentials library, session-policy intersection, revocation when the role or its trust changes, and
GetCallerIdentity for each kind of caller."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_tea_openapi.exceptions import ClientException

from secplane.testing import RunningServer
from tests.api.test_instances import REGION
from tests.ram_helpers import (
    Creds,
    attach_to_role,
    ecs,
    make_role,
    make_user,
    policy_document,
    ram,
    sts,
    unique,
)


def role_arn(api: RunningServer, role: str) -> str:
    return f"acs:ram::{api.account_id}:role/{role}"


def assume(api: RunningServer, caller: Creds, role: str, **kw: Any) -> Creds:
    request = sts_models.AssumeRoleRequest(role_arn=role_arn(api, role), role_session_name="session-1", **kw)
    body = sts(api, caller).assume_role(request).body
    c = body.credentials
    return Creds(c.access_key_id, c.access_key_secret, c.security_token)


def error(call: Any) -> tuple[int, str]:
    with pytest.raises(ClientException) as info:
        call()
    return info.value.status_code, info.value.code  # type: ignore[attr-defined]


def describe_instances(api: RunningServer, creds: Creds) -> Any:
    return ecs(api, creds).describe_instances(m.DescribeInstancesRequest(region_id=REGION))


def create_group(api: RunningServer, creds: Creds) -> Any:
    return ecs(api, creds).create_security_group(m.CreateSecurityGroupRequest(region_id=REGION))


@pytest.fixture(scope="module")
def assumer(api: RunningServer) -> tuple[str, Creds]:
    """A RAM user allowed to call sts:AssumeRole (AliyunSTSAssumeRoleAccess)."""
    name = unique("assumer")
    return name, make_user(api, name, system=("AliyunSTSAssumeRoleAccess",))


@pytest.fixture()
def reader_role(api: RunningServer) -> str:
    """A role any identity of the account may assume, with read-only ECS rights."""
    role = make_role(api, unique("reader"), {"RAM": [f"acs:ram::{api.account_id}:root"]})
    attach_to_role(api, role, "AliyunECSReadOnlyAccess", "System")
    return role


def test_assume_role_gives_working_temporary_credentials(
    api: RunningServer, assumer: tuple[str, Creds], reader_role: str
) -> None:
    request = sts_models.AssumeRoleRequest(
        role_arn=role_arn(api, reader_role), role_session_name="alice@ci", duration_seconds=900
    )
    body = sts(api, assumer[1]).assume_role(request).body
    assert body.credentials.access_key_id.startswith("STS.")
    assert body.credentials.expiration.endswith("Z")
    assert body.assumed_role_user.arn == f"acs:ram::{api.account_id}:role/{reader_role}/alice@ci"
    assert body.assumed_role_user.assumed_role_id.endswith(":alice@ci")
    c = body.credentials
    temp = Creds(c.access_key_id, c.access_key_secret, c.security_token)
    describe_instances(api, temp)
    assert error(lambda: create_group(api, temp)) == (403, "Forbidden.RAM")

    who = sts(api, temp).get_caller_identity().body
    assert who.identity_type == "AssumedRoleUser"
    assert who.arn == f"acs:ram::{api.account_id}:assumed-role/{reader_role}/alice@ci"
    assert who.principal_id == body.assumed_role_user.assumed_role_id


def test_legacy_sdk_signs_with_the_security_token(
    api: RunningServer, assumer: tuple[str, Creds], reader_role: str
) -> None:
    from aliyunsdkcore.auth.credentials import StsTokenCredential
    from aliyunsdkcore.client import AcsClient
    from aliyunsdkecs.request.v20140526.DescribeInstancesRequest import DescribeInstancesRequest

    temp = assume(api, assumer[1], reader_role)
    client = AcsClient(
        region_id=REGION,
        credential=StsTokenCredential(temp.access_key_id, temp.access_key_secret, temp.security_token),
    )
    request = DescribeInstancesRequest()
    request.set_endpoint(api.endpoint)
    request.set_protocol_type("http")
    assert "Instances" in json.loads(client.do_action_with_exception(request))


def test_session_policy_intersects_with_the_role(api: RunningServer, assumer: tuple[str, Creds]) -> None:
    role = make_role(api, unique("ecs-admin"), {"RAM": [f"acs:ram::{api.account_id}:root"]})
    attach_to_role(api, role, "AliyunECSFullAccess", "System")
    session = policy_document({"Effect": "Allow", "Action": "ecs:DescribeSecurityGroups", "Resource": "*"})
    temp = assume(api, assumer[1], role, policy=session)
    ecs(api, temp).describe_security_groups(m.DescribeSecurityGroupsRequest(region_id=REGION))
    with pytest.raises(ClientException) as info:
        describe_instances(api, temp)
    assert info.value.data["AccessDeniedDetail"]["PolicyType"] == "SessionPolicy"  # type: ignore[attr-defined]


def test_assume_role_refusals(api: RunningServer, assumer: tuple[str, Creds], reader_role: str) -> None:
    caller = assumer[1]
    only_alice = make_role(api, unique("alice-only"), {"RAM": [f"acs:ram::{api.account_id}:user/alice"]})
    assert error(lambda: assume(api, caller, only_alice)) == (403, "NoPermission")
    no_sts = make_user(api, unique("no-sts"))
    assert error(lambda: assume(api, no_sts, reader_role)) == (403, "NoPermission")
    root = Creds(api.access_key_id, api.access_key_secret)
    assert error(lambda: assume(api, root, reader_role)) == (403, "NoPermission")
    assert error(lambda: assume(api, caller, "no-such-role")) == (404, "EntityNotExist.Role")
    assert error(lambda: assume(api, caller, reader_role, duration_seconds=899)) == (
        400,
        "InvalidParameter.DurationSeconds",
    )
    assert error(lambda: assume(api, caller, reader_role, duration_seconds=3601)) == (
        400,
        "InvalidParameter.DurationSeconds",
    )
    assert error(lambda: assume(api, caller, reader_role, policy='{"Version":"1"')) == (
        400,
        "InvalidParameter.PolicyGrammar",
    )
    long_policy = policy_document(*[{"Effect": "Allow", "Action": "ecs:Describe*", "Resource": "*"}] * 40)
    assert error(lambda: assume(api, caller, reader_role, policy=long_policy)) == (
        400,
        "InvalidParameter.PolicySize",
    )
    bad_name = sts_models.AssumeRoleRequest(role_arn=role_arn(api, reader_role), role_session_name="a b")
    assert error(lambda: sts(api, caller).assume_role(bad_name)) == (400, "InvalidParameter.RoleSessionName")
    bad_arn = sts_models.AssumeRoleRequest(role_arn="arn:aws:iam::1:role/x", role_session_name="ok-name")
    assert error(lambda: sts(api, caller).assume_role(bad_arn)) == (400, "InvalidParameter.RoleArn")


def test_external_id_condition_in_the_trust_policy(api: RunningServer, assumer: tuple[str, Creds]) -> None:
    role = unique("partner")
    trust = policy_document(
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"RAM": [f"acs:ram::{api.account_id}:root"]},
            "Condition": {"StringEquals": {"sts:ExternalId": "abc-123"}},
        }
    )
    ram(api).create_role(ram_models.CreateRoleRequest(role_name=role, assume_role_policy_document=trust))
    assert error(lambda: assume(api, assumer[1], role)) == (403, "NoPermission")
    assert error(lambda: assume(api, assumer[1], role, external_id="wrong-1")) == (403, "NoPermission")
    assume(api, assumer[1], role, external_id="abc-123")


def test_sessions_end_when_the_role_is_deleted_or_stops_trusting(
    api: RunningServer, assumer: tuple[str, Creds]
) -> None:
    role = make_role(api, unique("short-lived"), {"RAM": [f"acs:ram::{api.account_id}:root"]})
    attach_to_role(api, role, "AliyunECSReadOnlyAccess", "System")
    temp = assume(api, assumer[1], role)
    describe_instances(api, temp)
    other = policy_document(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": ["ecs.aliyuncs.com"]}}
    )
    ram(api).update_role(ram_models.UpdateRoleRequest(role_name=role, new_assume_role_policy_document=other))
    assert error(lambda: describe_instances(api, temp)) == (400, "InvalidSecurityToken.Expired")

    role2 = make_role(api, unique("deleted"), {"RAM": [f"acs:ram::{api.account_id}:root"]})
    temp2 = assume(api, assumer[1], role2)
    sts(api, temp2).get_caller_identity()
    ram(api).delete_role(ram_models.DeleteRoleRequest(role_name=role2))
    assert error(lambda: sts(api, temp2).get_caller_identity()) == (400, "InvalidSecurityToken.Expired")


def test_token_must_come_with_its_key(
    api: RunningServer, assumer: tuple[str, Creds], reader_role: str
) -> None:
    temp = assume(api, assumer[1], reader_role)
    no_token = Creds(temp.access_key_id, temp.access_key_secret)
    assert error(lambda: describe_instances(api, no_token)) == (400, "MissingSecurityToken")
    other = assume(api, assumer[1], reader_role)
    mixed = Creds(temp.access_key_id, temp.access_key_secret, other.security_token)
    assert error(lambda: describe_instances(api, mixed)) == (
        400,
        "InvalidSecurityToken.MismatchWithAccessKey",
    )


def test_a_disabled_key_cannot_assume(api: RunningServer, reader_role: str) -> None:
    name = unique("disabled")
    creds = make_user(api, name, system=("AliyunSTSAssumeRoleAccess",))
    assume(api, creds, reader_role)
    ram(api).update_access_key(
        ram_models.UpdateAccessKeyRequest(
            user_name=name, user_access_key_id=creds.access_key_id, status="Inactive"
        )
    )
    assert error(lambda: assume(api, creds, reader_role)) == (400, "InvalidAccessKeyId.Inactive")


def test_get_caller_identity_for_root_and_user(api: RunningServer, assumer: tuple[str, Creds]) -> None:
    root = sts(api).get_caller_identity().body
    assert (root.identity_type, root.account_id, root.arn) == (
        "Account",
        api.account_id,
        f"acs:ram::{api.account_id}:root",
    )
    user = sts(api, assumer[1]).get_caller_identity().body
    assert user.identity_type == "RAMUser"
    assert user.arn == f"acs:ram::{api.account_id}:user/{assumer[0]}"
    assert user.user_id == user.principal_id


def test_credentials_library_ram_role_arn_provider(
    api: RunningServer, assumer: tuple[str, Creds], reader_role: str
) -> None:
    """The unmodified ``alibabacloud-credentials`` provider (GET, V1 with its quote_plus quirk, a session
    policy with spaces) gets credentials that the Tea ECS SDK then uses."""
    script = f"""
import json
from alibabacloud_credentials.client import Client
from alibabacloud_credentials.models import Config
from alibabacloud_ecs20140526.client import Client as Ecs
from alibabacloud_ecs20140526 import models as m
from alibabacloud_tea_openapi.models import Config as TeaConfig
cred = Client(Config(type="ram_role_arn", access_key_id={assumer[1].access_key_id!r},
    access_key_secret={assumer[1].access_key_secret!r}, role_arn={role_arn(api, reader_role)!r},
    role_session_name="lib-session", sts_endpoint="http://{api.endpoint}",
    policy='{{"Version": "1", "Statement": [{{"Effect": "Allow", "Action": "ecs:Describe*", '
           '"Resource": "*"}}]}}'))
ecs = Ecs(TeaConfig(credential=cred, endpoint={api.endpoint!r}, protocol="http", region_id={REGION!r}))
body = ecs.describe_instances(m.DescribeInstancesRequest(region_id={REGION!r})).body
print(json.dumps({{"key": cred.get_credential().access_key_id, "total": body.total_count}}))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["key"].startswith("STS.")
