"""Every operation in the registry passes the authorize step before its handler (DESIGN: a must).

The gateway runs in-process here. For each registered action, a request with well-typed values for its
required parameters is sent as a principal that the authorization step denies; every action must answer
403 Forbidden.RAM, which it can only do if the step ran before the handler.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from secplane import authz, gateway
from secplane.bootstrap import initialize
from secplane.config import Settings
from secplane.operations.context import Context, Principal
from secplane.operations.registry import REGISTRY, Operation
from secplane.protocol.signature import v1_sign, v1_string_to_sign
from secplane.protocol.wire import WireRequest


@pytest.fixture(scope="module")
def inproc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[gateway.Gateway, Any]]:
    data_dir: Path = tmp_path_factory.mktemp("authz")
    settings = Settings.from_env(data_dir=data_dir, database_url="")
    creds = initialize(settings)
    gw = gateway.Gateway(settings)
    try:
        yield gw, creds
    finally:
        gw.close()


def _required_params(op: Operation[Any]) -> dict[str, str]:
    info = msgspec.inspect.type_info(op.request)
    assert isinstance(info, msgspec.inspect.StructType)
    params = {}
    for field in info.fields:
        if field.required:
            params[field.encode_name] = "1" if isinstance(field.type, msgspec.inspect.IntType) else "x"
    params["RegionId"] = "cn-hangzhou"
    return params


def _signed(creds: Any, op: Operation[Any], params: dict[str, str]) -> WireRequest:
    query = {
        "Action": op.action,
        "Version": op.product.version,
        "Format": "JSON",
        "AccessKeyId": creds.access_key_id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": uuid.uuid4().hex,
        "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **params,
    }
    query["Signature"] = v1_sign(creds.access_key_secret, v1_string_to_sign("GET", list(query.items())))
    from urllib.parse import urlencode

    return WireRequest.parse("GET", "/", urlencode(query), {"host": "127.0.0.1"}, b"", "127.0.0.1")


def test_registry_is_not_empty_and_every_action_is_unique() -> None:
    assert len(REGISTRY) >= 2
    assert all(op.ram_action == f"{op.product.service}:{op.action}" for op in REGISTRY.values())


@pytest.mark.parametrize("key", sorted(REGISTRY), ids=lambda k: f"{k[0]}:{k[1]}")
def test_every_action_is_authorized(
    inproc: tuple[gateway.Gateway, Any], key: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    gw, creds = inproc
    op = REGISTRY[key]
    seen: list[str] = []

    def deny_all(ctx: Context, operation: Operation[Any], request: Any) -> list[str]:
        seen.append(operation.action)
        ctx.principal = Principal("user", ctx.account_id, "nobody", f"acs:ram::{ctx.account_id}:user/nobody")
        return authz.authorize(ctx, operation, request)

    monkeypatch.setattr(gateway, "authorize", deny_all)
    response = gw.handle(_signed(creds, op, _required_params(op)))
    body = msgspec.json.decode(response.body)
    assert (response.status, body["Code"]) == (403, "Forbidden.RAM"), body
    assert seen == [op.action]
