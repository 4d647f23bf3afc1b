"""Temporary credentials stop working at their Expiration. The gateway runs in-process with a clock the
test moves (a live server cannot be made to wait an hour); requests are signed for the moved clock."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import msgspec
import pytest

from secplane import gateway
from secplane.bootstrap import initialize
from secplane.config import Settings
from secplane.protocol.signature import v1_sign, v1_string_to_sign
from secplane.protocol.wire import WireRequest
from tests.ram_helpers import policy_document

RAM, STS, ECS = "2015-05-01", "2015-04-01", "2014-05-26"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).timestamp()

    def __call__(self) -> float:
        return self.now


class InProcess:
    def __init__(self, gw: gateway.Gateway, clock: Clock) -> None:
        self.gw, self.clock = gw, clock

    def call(self, creds: dict[str, str], version: str, action: str, **params: str) -> tuple[int, Any]:
        query = {
            "Action": action,
            "Version": version,
            "Format": "JSON",
            "AccessKeyId": creds["id"],
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
            "SignatureNonce": uuid.uuid4().hex,
            "Timestamp": datetime.fromtimestamp(self.clock.now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            **({"SecurityToken": creds["token"]} if creds.get("token") else {}),
            **params,
        }
        query["Signature"] = v1_sign(creds["secret"], v1_string_to_sign("GET", list(query.items())))
        wire = WireRequest.parse("GET", "/", urlencode(query), {"host": "127.0.0.1"}, b"", "127.0.0.1")
        response = self.gw.handle(wire)
        return response.status, msgspec.json.decode(response.body)

    def ok(self, creds: dict[str, str], version: str, action: str, **params: str) -> Any:
        status, body = self.call(creds, version, action, **params)
        assert status == 200, body
        return body


@pytest.fixture()
def world(tmp_path: Path) -> Iterator[tuple[InProcess, dict[str, str]]]:
    settings = Settings.from_env(data_dir=tmp_path, database_url="")
    creds = initialize(settings)
    assert creds is not None
    clock = Clock()
    gw = gateway.Gateway(settings, clock=clock)
    try:
        yield InProcess(gw, clock), {"id": creds.access_key_id, "secret": creds.access_key_secret}
    finally:
        gw.close()


def test_session_credentials_expire(world: tuple[InProcess, dict[str, str]]) -> None:
    api, root = world
    account = api.ok(root, STS, "GetCallerIdentity")["AccountId"]
    api.ok(root, RAM, "CreateUser", UserName="u1")
    api.ok(
        root,
        RAM,
        "AttachPolicyToUser",
        PolicyType="System",
        PolicyName="AliyunSTSAssumeRoleAccess",
        UserName="u1",
    )
    key = api.ok(root, RAM, "CreateAccessKey", UserName="u1")["AccessKey"]
    user = {"id": key["AccessKeyId"], "secret": key["AccessKeySecret"]}
    trust = policy_document(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": [f"acs:ram::{account}:root"]}}
    )
    api.ok(root, RAM, "CreateRole", RoleName="r1", AssumeRolePolicyDocument=trust)
    api.ok(
        root,
        RAM,
        "AttachPolicyToRole",
        PolicyType="System",
        PolicyName="AliyunECSReadOnlyAccess",
        RoleName="r1",
    )
    assumed = api.ok(
        user,
        STS,
        "AssumeRole",
        RoleArn=f"acs:ram::{account}:role/r1",
        RoleSessionName="s1",
        DurationSeconds="900",
    )["Credentials"]
    session = {
        "id": assumed["AccessKeyId"],
        "secret": assumed["AccessKeySecret"],
        "token": assumed["SecurityToken"],
    }
    expires = datetime.strptime(assumed["Expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    assert 899 <= expires - api.clock.now <= 900

    api.ok(session, ECS, "DescribeInstances", RegionId="cn-hangzhou")
    api.clock.now = expires - 1
    api.ok(session, ECS, "DescribeInstances", RegionId="cn-hangzhou")
    api.clock.now = expires
    status, body = api.call(session, ECS, "DescribeInstances", RegionId="cn-hangzhou")
    assert (status, body["Code"]) == (400, "InvalidSecurityToken.Expired")
    # the user's own long-term key is unaffected by the passing hour
    api.ok(user, STS, "GetCallerIdentity")
