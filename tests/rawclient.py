"""A minimal V1-signing client for tests that must control what the SDKs decide for themselves
(the nonce, the timestamp, which server gets the same request twice)."""

from __future__ import annotations

import http.client
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from secplane.protocol.signature import v1_sign, v1_string_to_sign
from secplane.testing import RunningServer


def signed_v1_query(
    running: RunningServer,
    action: str,
    version: str = "2014-05-26",
    *,
    nonce: str | None = None,
    timestamp: str | None = None,
    **params: str,
) -> str:
    query = {
        "Action": action,
        "Version": version,
        "Format": "JSON",
        "AccessKeyId": running.access_key_id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureType": "",
        "SignatureNonce": nonce or uuid.uuid4().hex,
        "Timestamp": timestamp or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **params,
    }
    query["Signature"] = v1_sign(running.access_key_secret, v1_string_to_sign("GET", list(query.items())))
    return urlencode(query)


def get(endpoint: str, query: str) -> tuple[int, dict[str, Any]]:
    """GET ``/?query`` on ``endpoint``; returns the status and the decoded JSON body."""
    host, port = endpoint.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("GET", f"/?{query}")
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()
