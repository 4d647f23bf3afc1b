"""The system policies: all present (SPEC RAM-4 and issue #7), all valid policy documents."""

from __future__ import annotations

import json
import re

import pytest

from secplane.domain.policy import parse_policy
from secplane.domain.system_policies import SYSTEM_POLICIES
from secplane.operations.ram.common import POLICY_NAME

REQUIRED = {
    # SPEC RAM-4
    "AliyunECSFullAccess", "AliyunECSReadOnlyAccess", "AliyunECSNetworkInterfaceManagementAccess",
    "AliyunECSAssistantFullAccess", "AliyunECSAssistantReadonlyAccess", "AliyunECSImageExportRolePolicy",
    "AliyunECSImageImportRolePolicy", "AliyunECSInstanceForYundunSysTrustRolePolicy",
    "AliyunECSDiskEncryptRolePolicy",
    # the two ECS service role policies
    "AliyunECSCloudBoxImageImportDefaultRolePolicy", "AliyunECSInstanceForSMCRolePolicy",
    # issue #7
    "AdministratorAccess", "ReadOnlyAccess", "AliyunRAMFullAccess", "AliyunRAMReadOnlyAccess",
    "AliyunSTSAssumeRoleAccess", "AliyunVPCFullAccess", "AliyunVPCReadOnlyAccess",
}  # fmt: skip
DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_every_required_policy_is_there() -> None:
    assert set(SYSTEM_POLICIES) == REQUIRED


@pytest.mark.parametrize("name", sorted(SYSTEM_POLICIES))
def test_policy_is_well_formed(name: str) -> None:
    policy = SYSTEM_POLICIES[name]
    parsed = parse_policy(policy.document, kind="identity")
    assert parsed.statements and all(s.effect == "Allow" for s in parsed.statements)
    assert policy.name == name and POLICY_NAME.match(name) and len(name) <= 128
    assert re.fullmatch(r"v[1-9][0-9]*", policy.version)
    assert DATE.match(policy.created) and DATE.match(policy.updated) and policy.created <= policy.updated
    assert policy.description


def _actions(name: str) -> list[str]:
    return [a for s in json.loads(SYSTEM_POLICIES[name].document)["Statement"] for a in _list(s["Action"])]


def _list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def test_documented_statements() -> None:
    """Spot checks of statements copied from Alibaba's documentation."""
    assert _actions("AliyunECSFullAccess") == ["ecs:*", "vpc:DescribeVpcs", "vpc:DescribeVSwitches"]
    assert _actions("AliyunECSReadOnlyAccess")[:2] == ["ecs:Describe*", "ecs:List*"]
    assert _actions("AliyunSTSAssumeRoleAccess") == ["sts:AssumeRole"]
    assert _actions("AdministratorAccess") == ["*"]
    assert {"*:Describe*", "*:List*", "*:Get*", "*:Query*", "*:BatchGet*"} <= set(_actions("ReadOnlyAccess"))
    assert "vpc:*Vpc*" in _actions("AliyunVPCFullAccess")
    assert "oss:ListParts" in _actions("AliyunECSImageExportRolePolicy")
