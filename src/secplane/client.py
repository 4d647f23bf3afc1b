"""A small signed-API client for the CLI: the CLI's commands go through the API like any SDK, so they
are authenticated, authorized and audited the same way.

Credentials, in order: explicit arguments, ``ALIBABA_CLOUD_ACCESS_KEY_ID`` /
``ALIBABA_CLOUD_ACCESS_KEY_SECRET`` (+ ``ALIBABA_CLOUD_SECURITY_TOKEN``), then the data dir's
``credentials.json`` written by ``secplane init``. Endpoint: argument, ``SECPLANE_ENDPOINT``, the
credentials file, then the listen address of the settings.
"""

from __future__ import annotations

import http.client
import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from secplane.protocol.errors import ApiError
from secplane.protocol.signature import v1_sign, v1_string_to_sign


@dataclass(frozen=True, slots=True)
class ApiClient:
    endpoint: str  # host:port
    access_key_id: str
    access_key_secret: str
    security_token: str = ""
    timeout: float = 60.0

    @classmethod
    def from_environment(cls, data_dir: Path, endpoint: str = "", default_endpoint: str = "") -> ApiClient:
        """Resolve endpoint and credentials as the module docstring says; a clear error if none."""
        env = os.environ
        saved: dict[str, str] = {}
        creds_file = data_dir / "credentials.json"
        if creds_file.exists():
            saved = json.loads(creds_file.read_text())
        key_id = env.get("ALIBABA_CLOUD_ACCESS_KEY_ID") or saved.get("access_key_id", "")
        secret = env.get("ALIBABA_CLOUD_ACCESS_KEY_SECRET") or saved.get("access_key_secret", "")
        if not key_id or not secret:
            raise SystemExit(
                "no credentials: set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, "
                f"or run `secplane init` (it writes {creds_file})"
            )
        target = endpoint or env.get("SECPLANE_ENDPOINT") or saved.get("endpoint") or default_endpoint
        target = target.removeprefix("http://").rstrip("/")
        return cls(target, key_id, secret, env.get("ALIBABA_CLOUD_SECURITY_TOKEN", ""))

    def call(self, version: str, action: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """One signed RPC call (V1, POST with a form body); raises ``ApiError`` on an error answer."""
        body: dict[str, str] = {k: _wire(v) for k, v in (params or {}).items() if v is not None}
        common = {
            "Action": action,
            "Version": version,
            "Format": "JSON",
            "AccessKeyId": self.access_key_id,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
            "SignatureNonce": uuid.uuid4().hex,
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if self.security_token:
            common["SecurityToken"] = self.security_token
        signed = list(common.items()) + list(body.items())
        common["Signature"] = v1_sign(self.access_key_secret, v1_string_to_sign("POST", signed))
        host, _, port = self.endpoint.rpartition(":")
        conn = http.client.HTTPConnection(host.strip("[]"), int(port), timeout=self.timeout)
        try:
            conn.request(
                "POST",
                "/?" + urlencode(common),
                body=urlencode(body).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            response = conn.getresponse()
            payload = json.loads(response.read() or b"{}")
        except OSError as exc:
            raise SystemExit(f"cannot reach the secplane API at {self.endpoint}: {exc}") from exc
        finally:
            conn.close()
        if response.status >= 400:
            raise ApiError(payload.get("Code", "Error"), payload.get("Message", ""), response.status)
        return dict(payload)


def _wire(value: Any) -> str:
    """Python values as the SDKs send them: booleans ``true``/``false``, lists and dicts as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)
