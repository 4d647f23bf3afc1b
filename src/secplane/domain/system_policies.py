"""System policies: provided by the platform, the same in every account, read-only (SPEC RAM-4).

They are code, not rows: ``GetPolicy``/``ListPolicies`` with ``PolicyType=System`` read them from here,
attachments name them, and the authorizer takes their documents from here. Each has one version, its
documented current version id, and fixed dates (Alibaba's documented Beijing times, in UTC).

Where a statement is copied from Alibaba's documentation, the source is given next to it; the others are
the evident reading of the policy's documented description and are marked *unverified*.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

_ALL = "*"


@dataclass(frozen=True, slots=True)
class SystemPolicy:
    name: str
    description: str
    document: str  # JSON text, as GetPolicy / GetPolicyVersion return it
    version: str  # the one (default) version: "v1", "v3" ...
    created: str  # CreateDate, ``YYYY-MM-DDThh:mm:ssZ``
    updated: str  # UpdateDate


def _allow(actions: str | list[str], resource: str | list[str] = _ALL) -> dict[str, Any]:
    return {"Action": actions, "Resource": resource, "Effect": "Allow"}


def _policy(
    name: str, description: str, statements: list[dict[str, Any]], version: str, created: str, updated: str
) -> SystemPolicy:
    document = json.dumps({"Version": "1", "Statement": statements}, indent=2)
    return SystemPolicy(name, description, document, version, created, updated)


_ECS_VPC_READ = _allow(["vpc:DescribeVpcs", "vpc:DescribeVSwitches"])
_OSS_IMPORT = ["GetObject", "GetBucketLocation", "GetBucketInfo"]

_POLICIES = (
    # -- account-wide
    # unverified: the evident "everything" document
    _policy(
        "AdministratorAccess",
        "Provides full access to Alibaba Cloud services and resources.",
        [_allow(_ALL)],
        "v1", "2015-04-28T08:15:45Z", "2015-04-28T08:15:45Z",
    ),
    # unverified against Alibaba's own page; the same action list is quoted by several Alibaba-ecosystem
    # projects as the read-only system document (e.g. AlibabaCloud ComputeNest SDK model examples)
    _policy(
        "ReadOnlyAccess",
        "Provides read-only access to Alibaba Cloud services and resources.",
        [
            _allow([
                "*:Describe*", "*:List*", "*:Get*", "*:BatchGet*", "*:Query*", "*:BatchQuery*",
                "actiontrail:LookupEvents", "actiontrail:Check*", "dm:Desc*", "dm:SenderStatistics*",
                "ram:GenerateCredentialReport",
            ])
        ],
        "v1", "2015-04-28T08:15:45Z", "2015-04-28T08:15:45Z",
    ),
    # -- RAM and STS
    # unverified: the evident "ram:*" document
    _policy(
        "AliyunRAMFullAccess",
        "Provides full access to Resource Access Management(RAM) via Management Console.",
        [_allow("ram:*")],
        "v1", "2015-04-28T08:15:45Z", "2015-04-28T08:15:45Z",
    ),
    # alibabacloud.com/help/en/ram/developer-reference/aliyunramreadonlyaccess (v3)
    _policy(
        "AliyunRAMReadOnlyAccess",
        "Provides read-only access to Resource Access Management(RAM) via Management Console.",
        [
            _allow(["ram:Get*", "ram:List*", "ram:GenerateCredentialReport"]),
            _allow(["accessanalyzer:Get*", "accessanalyzer:List*"]),
        ],
        "v3", "2015-04-28T08:15:45Z", "2025-12-03T02:03:48Z",
    ),
    # alibabacloud.com/help/en/ram/developer-reference/aliyunstsassumeroleaccess (v1)
    _policy(
        "AliyunSTSAssumeRoleAccess",
        "Provides access to the API AssumeRole of Security Token Service(STS).",
        [_allow("sts:AssumeRole")],
        "v1", "2015-08-02T20:52:09Z", "2017-04-27T08:48:07Z",
    ),
    # -- VPC
    # alibabacloud.com/help/en/ram/developer-reference/aliyunvpcfullaccess (v12)
    _policy(
        "AliyunVPCFullAccess",
        "Provides full access to Virtual Private Cloud(VPC) via Management Console.",
        [
            _allow([
                "vpc:*HaVip*", "vpc:*RouteTable*", "vpc:*VRouter*", "vpc:*RouteEntry*", "vpc:*RouteEntries*",
                "vpc:*VSwitch*", "vpc:*Vpc*", "vpc:*Cen*", "vpc:*Tag*", "vpc:*NetworkAcl*", "vpc:*FlowLog*",
                "vpc:*Ipv4Gateway*", "vpc:*PrefixList*", "vpc:*DhcpOptionsSet*", "vpc:DeletionProtection",
                "vpc:*TagResource*", "vpc:MoveResourceGroup",
            ])
        ],
        "v12", "2015-12-23T17:37:35Z", "2023-04-07T02:06:51Z",
    ),
    # alibabacloud.com/help/en/ram/developer-reference/aliyunvpcreadonlyaccess (v9)
    _policy(
        "AliyunVPCReadOnlyAccess",
        "Provides read-only access to Virtual Private Cloud(VPC) via Management Console.",
        [
            _allow([
                "vpc:DescribeHaVip*", "vpc:DescribeRouteTable*", "vpc:DescribeRouteEntry*",
                "vpc:DescribeVSwitch*", "vpc:DescribeVRouter*", "vpc:DescribeVpc*", "vpc:Describe*Cen*",
                "vpc:ListTag*", "vpc:DescribeTag*", "vpc:DescribeNetworkAcl*", "vpc:DescribeFlowLog*",
                "vpc:CheckCanAllocateVpcPrivateIpAddress", "vpc:ListIpv4Gateways",
                "vpc:GetIpv4GatewayAttribute", "vpc:ListDhcpOptionsSets", "vpc:GetDhcpOptionsSet",
            ])
        ],
        "v9", "2015-12-23T17:37:20Z", "2025-08-07T02:02:59Z",
    ),
    # -- ECS (SPEC RAM-4)
    # ECS "System policy examples", alibabacloud.com/help/doc-detail/273911.htm
    _policy(
        "AliyunECSFullAccess",
        "Provides full access to Elastic Compute Service(ECS) via Management Console.",
        [_allow("ecs:*"), _ECS_VPC_READ],
        "v1", "2015-04-28T08:15:45Z", "2015-04-28T08:15:45Z",
    ),
    # ibid.
    _policy(
        "AliyunECSReadOnlyAccess",
        "Provides read-only access to Elastic Compute Service(ECS) via Management Console.",
        [_allow("ecs:Describe*"), _allow("ecs:List*"), _ECS_VPC_READ],
        "v1", "2015-04-28T08:15:45Z", "2015-04-28T08:15:45Z",
    ),
    # ibid.
    _policy(
        "AliyunECSNetworkInterfaceManagementAccess",
        "Provides full access to ECS Network Interface.",
        [
            _allow(["vpc:DescribeVSwitchAttributes"]),
            _allow([
                "ecs:CreateNetworkInterface", "ecs:DeleteNetworkInterface", "ecs:DescribeNetworkInterfaces",
                "ecs:CreateNetworkInterfacePermission", "ecs:DescribeNetworkInterfacePermissions",
                "ecs:DeleteNetworkInterfacePermission",
            ]),
        ],
        "v1", "2018-06-01T02:00:00Z", "2018-06-01T02:00:00Z",
    ),
    # unverified: Cloud Assistant's commands, invocations, files and agent
    _policy(
        "AliyunECSAssistantFullAccess",
        "Provides full access to Cloud Assistant via Management Console.",
        [
            _allow([
                "ecs:*Command*", "ecs:*Invocation*", "ecs:*CloudAssistant*", "ecs:SendFile",
                "ecs:DescribeSendFileResults", "ecs:DescribeInstances",
            ])
        ],
        "v1", "2019-01-01T02:00:00Z", "2019-01-01T02:00:00Z",
    ),
    # unverified: the read side of the above
    _policy(
        "AliyunECSAssistantReadonlyAccess",
        "Provides read-only access to Cloud Assistant via Management Console.",
        [
            _allow([
                "ecs:DescribeCommands", "ecs:DescribeInvocations", "ecs:DescribeInvocationResults",
                "ecs:DescribeCloudAssistantStatus", "ecs:DescribeSendFileResults", "ecs:DescribeInstances",
            ])
        ],
        "v1", "2019-01-01T02:00:00Z", "2019-01-01T02:00:00Z",
    ),
    # the custom-policy equivalent given in the ECS ExportImage API reference
    _policy(
        "AliyunECSImageExportRolePolicy",
        "The policy for the AliyunECSImageExportDefaultRole service role: ECS exports images to OSS.",
        [
            _allow([
                "oss:GetObject", "oss:PutObject", "oss:DeleteObject", "oss:GetBucketLocation",
                "oss:GetBucketInfo", "oss:AbortMultipartUpload", "oss:ListMultipartUploads", "oss:ListParts",
            ])
        ],
        "v1", "2017-06-01T02:00:00Z", "2017-06-01T02:00:00Z",
    ),
    # the custom-policy equivalent given in the ECS ImportImage API reference
    _policy(
        "AliyunECSImageImportRolePolicy",
        "The policy for the AliyunECSImageImportDefaultRole service role: ECS imports images from OSS.",
        [_allow([f"oss:{a}" for a in _OSS_IMPORT])],
        "v1", "2017-06-01T02:00:00Z", "2017-06-01T02:00:00Z",
    ),
    # unverified: the trusted-computing service of security-enhanced instances
    _policy(
        "AliyunECSInstanceForYundunSysTrustRolePolicy",
        "The policy for the AliyunECSInstanceForYundunSysTrustRole service role: security-enhanced "
        "instances use the trusted computing service.",
        [_allow("yundun-systrust:*")],
        "v1", "2019-06-01T02:00:00Z", "2019-06-01T02:00:00Z",
    ),
    # unverified: modelled on the documented sibling AliyunRDSInstanceEncryptionRolePolicy
    _policy(
        "AliyunECSDiskEncryptRolePolicy",
        "The policy for the AliyunECSDiskEncryptDefaultRole service role: ECS uses KMS keys to encrypt "
        "disks, snapshots and images.",
        [
            _allow(["kms:List*", "kms:DescribeKey", "kms:TagResource", "kms:UntagResource"], "acs:kms:*:*:*"),
            _allow(["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"], "acs:kms:*:*:*"),
        ],
        "v1", "2018-06-01T02:00:00Z", "2018-06-01T02:00:00Z",
    ),
    # The two ECS service role policies of the ECS "System policies" page (service role section).
    # the custom-policy equivalent given in the ECS ImportImage API reference (cloud box case)
    _policy(
        "AliyunECSCloudBoxImageImportDefaultRolePolicy",
        "The policy for the AliyunECSCloudBoxImageImportDefaultRole service role: ECS imports images "
        "from OSS on CloudBox.",
        [_allow([f"oss-cloudbox:{a}" for a in _OSS_IMPORT])],
        "v1", "2022-06-01T02:00:00Z", "2022-06-01T02:00:00Z",
    ),
    # unverified: Server Migration Center acting from an instance
    _policy(
        "AliyunECSInstanceForSMCRolePolicy",
        "The policy for the AliyunECSInstanceForSMCRole service role: ECS uses this role to access your "
        "resources in other services.",
        [_allow("smc:*")],
        "v1", "2020-06-01T02:00:00Z", "2020-06-01T02:00:00Z",
    ),
)  # fmt: skip

SYSTEM_POLICIES: dict[str, SystemPolicy] = {p.name: p for p in _POLICIES}
