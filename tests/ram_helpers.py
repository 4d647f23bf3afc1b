"""Test helpers for acting as someone other than the account root: RAM users with keys and policies,
role sessions, and official SDK clients holding those credentials."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_sts20150401.client import Client as StsClient

from secplane.testing import RunningServer


@dataclass(frozen=True)
class Creds:
    access_key_id: str
    access_key_secret: str
    security_token: str = ""

    def config(self, api: RunningServer) -> Any:
        extra = {"security_token": self.security_token} if self.security_token else {}
        return api.tea_config(
            access_key_id=self.access_key_id, access_key_secret=self.access_key_secret, **extra
        )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def ram(api: RunningServer, creds: Creds | None = None) -> RamClient:
    return RamClient(creds.config(api) if creds else api.tea_config())


def ecs(api: RunningServer, creds: Creds) -> EcsClient:
    return EcsClient(creds.config(api))


def sts(api: RunningServer, creds: Creds | None = None) -> StsClient:
    return StsClient(creds.config(api) if creds else api.tea_config())


def policy_document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "1", "Statement": list(statements)})


def custom_policy(api: RunningServer, name: str, *statements: dict[str, Any]) -> str:
    ram(api).create_policy(
        ram_models.CreatePolicyRequest(policy_name=name, policy_document=policy_document(*statements))
    )
    return name


def attach_to_user(api: RunningServer, user: str, policy: str, policy_type: str = "Custom") -> None:
    ram(api).attach_policy_to_user(
        ram_models.AttachPolicyToUserRequest(policy_type=policy_type, policy_name=policy, user_name=user)
    )


def attach_to_group(api: RunningServer, group: str, policy: str, policy_type: str = "Custom") -> None:
    ram(api).attach_policy_to_group(
        ram_models.AttachPolicyToGroupRequest(policy_type=policy_type, policy_name=policy, group_name=group)
    )


def attach_to_role(api: RunningServer, role: str, policy: str, policy_type: str = "Custom") -> None:
    ram(api).attach_policy_to_role(
        ram_models.AttachPolicyToRoleRequest(policy_type=policy_type, policy_name=policy, role_name=role)
    )


def make_user(
    api: RunningServer, name: str, *, system: tuple[str, ...] = (), custom: tuple[str, ...] = ()
) -> Creds:
    """A RAM user with one access key and the given policies attached directly."""
    client = ram(api)
    client.create_user(ram_models.CreateUserRequest(user_name=name))
    for policy in system:
        attach_to_user(api, name, policy, "System")
    for policy in custom:
        attach_to_user(api, name, policy, "Custom")
    key = client.create_access_key(ram_models.CreateAccessKeyRequest(user_name=name)).body.access_key
    return Creds(key.access_key_id, key.access_key_secret)


def make_group(api: RunningServer, name: str, *members: str) -> str:
    client = ram(api)
    client.create_group(ram_models.CreateGroupRequest(group_name=name))
    for user in members:
        client.add_user_to_group(ram_models.AddUserToGroupRequest(group_name=name, user_name=user))
    return name


def make_role(api: RunningServer, name: str, trust: dict[str, Any], max_session: int = 3600) -> str:
    """A role whose trust policy allows ``trust`` (a Principal element) to assume it."""
    document = policy_document({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": trust})
    ram(api).create_role(
        ram_models.CreateRoleRequest(
            role_name=name, assume_role_policy_document=document, max_session_duration=max_session
        )
    )
    return name
