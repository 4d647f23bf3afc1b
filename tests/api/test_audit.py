"""The audit trail (RAM-11) as `secplane audit` shows it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from alibabacloud_ecs20140526 import models as ecs_models

from secplane.testing import RunningServer
from tests.rawclient import get, signed_v1_query


def audit(running: RunningServer, *args: str) -> list[dict[str, Any]]:
    cmd = [sys.executable, "-m", "secplane", "audit", "--data-dir", str(running.data_dir), "--json", *args]
    return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


def wait_for(running: RunningServer, request_id: str, *args: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for event in audit(running, *args):
            if event["request_id"] == request_id:
                return event
        time.sleep(0.2)
    raise AssertionError(f"{request_id} not in the audit trail")


def test_successful_call_is_recorded(api: RunningServer, ecs: Any) -> None:
    rid = ecs.describe_regions(ecs_models.DescribeRegionsRequest()).body.request_id
    event = wait_for(api, rid, "--action", "DescribeRegions", "--since", "5m")
    assert event["result"] == "Success" and event["http_status"] == 200
    assert event["account_id"] == api.account_id
    assert event["principal"] == f"acs:ram::{api.account_id}:root"
    assert event["access_key_id"] == api.access_key_id
    assert event["source_ip"] == "127.0.0.1"
    assert event["product"] == "Ecs" and event["version"] == "2014-05-26"
    assert event["latency_ms"] > 0 and event["time"].endswith("Z")


def test_failed_authentication_is_recorded(api: RunningServer) -> None:
    query = signed_v1_query(api, "DescribeRegions").replace("Signature=", "Signature=x")
    status, body = get(api.endpoint, query)
    assert status == 400
    event = wait_for(api, body["RequestId"], "--result", "failed")
    assert event["result"] == "SignatureDoesNotMatch"
    assert event["access_key_id"] == api.access_key_id
    assert event["principal"] == ""  # never authenticated
    plain = subprocess.run(
        [sys.executable, "-m", "secplane", "audit", "--data-dir", str(api.data_dir), "--result", "failed"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert body["RequestId"] in plain


def test_filters_exclude_what_does_not_match(api: RunningServer) -> None:
    status, body = get(api.endpoint, signed_v1_query(api, "DescribeRegions"))
    assert status == 200
    wait_for(api, body["RequestId"])
    assert all(e["action"] == "NoSuchAction" for e in audit(api, "--action", "NoSuchAction"))
    assert audit(api, "--action", "NoSuchAction") == []
    assert audit(api, "--until", "2000-01-01T00:00:00Z") == []


def test_actions_command_lists_the_registry() -> None:
    from secplane.operations.registry import REGISTRY

    out = subprocess.run(
        [sys.executable, "-m", "secplane", "actions", "--json"], capture_output=True, text=True, check=True
    ).stdout
    listed = {(row["version"], row["action"]) for row in json.loads(out)}
    assert listed == set(REGISTRY)
    assert ("2014-05-26", "AuthorizeSecurityGroup") in listed
