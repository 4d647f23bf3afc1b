"""``secplane iam``: the identity chores a developer does locally, in one command each.

``create-user`` makes a RAM user with an access key and policies in one go (what a test suite needs for
"call the API as someone with these rights"); ``simulate`` asks the policy simulator. Both go through the
API (``secplane.client``), so they are authorized and audited like any SDK call.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from secplane.client import ApiClient
from secplane.config import Settings
from secplane.operations.registry import RAM, SECPLANE
from secplane.protocol.errors import ApiError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    iam = sub.add_parser("iam", help="RAM helpers: a user with keys and policies in one go, the simulator")
    iam.add_argument("--endpoint", help="API host:port (env SECPLANE_ENDPOINT, else credentials.json)")
    iam.add_argument(
        "--data-dir", help="where credentials.json is (env SECPLANE_DATA_DIR, default .secplane)"
    )
    tasks = iam.add_subparsers(dest="iam_command", required=True)

    create = tasks.add_parser("create-user", help="a RAM user with an access key and policies")
    create.add_argument("name")
    create.add_argument("--policy", action="append", default=[], help="attach this policy (System or Custom)")
    create.add_argument(
        "--policy-document", type=Path, help="a JSON policy file: created as <name>-policy and attached"
    )
    create.add_argument("--group", action="append", default=[], help="add the user to this existing group")
    create.add_argument("--json", action="store_true", help="print JSON for scripts")
    create.set_defaults(func=cmd_create_user)

    simulate = tasks.add_parser("simulate", help="what RAM decides for a principal, and why")
    who = simulate.add_mutually_exclusive_group(required=True)
    who.add_argument("--user")
    who.add_argument("--group")
    who.add_argument("--role")
    simulate.add_argument("--action", action="append", required=True, help="e.g. ecs:DescribeInstances")
    simulate.add_argument("--resource", action="append", default=[], help="ARN (default *)")
    simulate.add_argument(
        "--context", action="append", default=[], help="KEY=VALUE, e.g. acs:SourceIp=10.1.2.3"
    )
    simulate.add_argument("--json", action="store_true", help="print JSON for scripts")
    simulate.set_defaults(func=cmd_simulate)


def _client(args: argparse.Namespace) -> ApiClient:
    settings = Settings.from_env(data_dir=args.data_dir)
    return ApiClient.from_environment(settings.data_dir, args.endpoint or "", settings.endpoint)


def cmd_create_user(args: argparse.Namespace) -> int:
    client = _client(args)
    try:
        user = client.call(RAM.version, "CreateUser", {"UserName": args.name})["User"]
        policies = [(name, _policy_type(client, name)) for name in args.policy]
        if args.policy_document is not None:
            document = args.policy_document.read_text()
            created = client.call(
                RAM.version, "CreatePolicy", {"PolicyName": f"{args.name}-policy", "PolicyDocument": document}
            )
            policies.append((created["Policy"]["PolicyName"], "Custom"))
        for name, policy_type in policies:
            client.call(
                RAM.version,
                "AttachPolicyToUser",
                {"PolicyType": policy_type, "PolicyName": name, "UserName": args.name},
            )
        for group in args.group:
            client.call(RAM.version, "AddUserToGroup", {"GroupName": group, "UserName": args.name})
        key = client.call(RAM.version, "CreateAccessKey", {"UserName": args.name})["AccessKey"]
    except ApiError as err:
        print(f"secplane iam: {err.code}: {err.message}", file=sys.stderr)
        return 1
    result = {
        "UserName": user["UserName"],
        "UserId": user["UserId"],
        "AccessKeyId": key["AccessKeyId"],
        "AccessKeySecret": key["AccessKeySecret"],
        "Policies": [f"{t}:{n}" for n, t in policies],
        "Groups": args.group,
        "Endpoint": client.endpoint,
    }
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for field, value in result.items():
            shown = ", ".join(value) if isinstance(value, list) else value
            print(f"{field:<16} {shown}")
        print("The secret is shown once.")
    return 0


def _policy_type(client: ApiClient, name: str) -> str:
    """System if a system policy has that name, else Custom (GetPolicy says which exists)."""
    try:
        client.call(RAM.version, "GetPolicy", {"PolicyName": name, "PolicyType": "System"})
        return "System"
    except ApiError as err:
        if err.status != 404:
            raise
        return "Custom"


def cmd_simulate(args: argparse.Namespace) -> int:
    kind, name = next((k, getattr(args, k)) for k in ("user", "group", "role") if getattr(args, k))
    params: dict[str, Any] = {"PrincipalType": kind.capitalize(), "PrincipalName": name}
    for i, action in enumerate(args.action, 1):
        params[f"ActionNames.{i}"] = action
    for i, resource in enumerate(args.resource, 1):
        params[f"ResourceArns.{i}"] = resource
    for i, entry in enumerate(args.context, 1):
        key, sep, value = entry.partition("=")
        if not sep:
            print(f"secplane iam: --context wants KEY=VALUE, got {entry!r}", file=sys.stderr)
            return 2
        params[f"ContextEntries.{i}.Key"] = key
        params[f"ContextEntries.{i}.Value"] = value
    try:
        reply = _client(args).call(SECPLANE.version, "SimulatePrincipalPolicy", params)
    except ApiError as err:
        print(f"secplane iam: {err.code}: {err.message}", file=sys.stderr)
        return 1
    results = reply["EvaluationResults"]["EvaluationResult"]
    if args.json:
        json.dump(results, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    for r in results:
        matched = ", ".join(
            f"{s['PolicyType']}:{s['PolicyName']}@{s['VersionId']}#{s['StatementIndex']}({s['Effect']})"
            for s in r["MatchedStatements"]["Statement"]
        )
        missing = ", ".join(r["MissingContextValues"]["ContextKey"])
        print(f"{r['EvalDecision']:<13} {r['EvalActionName']:<32} {r['EvalResourceName']}")
        if matched:
            print(f"{'':<13} matched: {matched}")
        if missing:
            print(f"{'':<13} missing context: {missing}")
    return 0
