"""The instance metadata service (RAM-10, KP-4): what ``http://100.100.100.200`` answers inside an
instance — its own facts, its public key, its user data, and STS credentials for its RAM role.

Who asks is decided by the app, never by anything the caller can claim in its request:

* ``MetadataService.app_for_vpc(vpc_id)`` — the production shape: one app per VPC, served on
  100.100.100.200:80 inside that VPC's network (the lab namespaces). The caller is the running
  instance of that VPC holding the TCP source address. Serve it with ``uvicorn_config`` (which turns
  uvicorn's ``X-Forwarded-For`` rewriting of the client address off).
* ``MetadataService.proxy_app()`` — development without namespaces: an HTTP proxy listener.
  ``HTTP_PROXY=http://<instance-id>:<secret>@127.0.0.1:<port>`` makes any client (the unmodified
  ``alibabacloud-credentials`` library included) send ``GET http://100.100.100.200/latest/...`` there,
  naming the instance in ``Proxy-Authorization``; the secret is per installation (sealed in the
  ``meta`` table), so only the operator can name instances. ``serve_metadata_proxy`` runs it.

The protocol (reference ram-sts-auth §13, Alibaba's metadata documentation): plain-text items, directory
listings one entry a line, no trailing newline (the credentials library appends the role name it
reads verbatim to the next URL). Hardened mode: ``PUT /latest/api/token`` with
``X-aliyun-ecs-metadata-token-ttl-seconds`` (1..21600; 400 outside, 403 with ``X-Forwarded-For``)
returns a token for ``X-aliyun-ecs-metadata-token``; a bad or expired token is 401; with
``HttpTokens=required`` a request without one is 403; ``HttpEndpoint=disabled`` refuses everything
(403). Tokens are an HMAC over (instance id, expiry) with the service's key (per process unless one
is given): valid for that instance only, and not after a restart (clients fetch a new one, as they do
on expiry).

Credentials are STS sessions of the role with ``ecs.aliyuncs.com`` as the caller, valid 6 h, cached
per (instance, role, extra policy) and replaced when less than 30 min remain; the old ones stay valid
until they expire. A detached role's path answers 404 at once.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from sqlalchemy import select

from secplane.bootstrap import open_store
from secplane.config import Settings
from secplane.crypto import MasterKey
from secplane.store import instance_roles
from secplane.store.db import Database
from secplane.store.schema import instances, meta
from secplane.store.sts import StsCredentials, issue_session

log = logging.getLogger("secplane.metadata")

METADATA_HOST = "100.100.100.200"
TOKEN_PATH = "/latest/api/token"
TTL_HEADER = "x-aliyun-ecs-metadata-token-ttl-seconds"
TOKEN_HEADER = "x-aliyun-ecs-metadata-token"
MAX_TOKEN_TTL = 21600
CREDENTIAL_DURATION = 6 * 3600
REFRESH_MARGIN = 30 * 60
ECS_SERVICE = "ecs.aliyuncs.com"
PROXY_SECRET_KEY = "metadata_proxy_secret"
_TIME = "%Y-%m-%dT%H:%M:%SZ"
_MAX_BODY = 64 * 1024

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "text/plain"
    headers: tuple[tuple[str, str], ...] = ()


_REASONS = {
    400: "Missing or Invalid Parameters",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    407: "Proxy Authentication Required",
}


def _error(status: int, hint: str = "") -> Reply:
    text = f"{status} - {_REASONS[status]}" + (f": {hint}" if hint else "")
    return Reply(status, text.encode())


def _text(value: str) -> Reply:
    return Reply(200, value.encode()) if value else _error(404)


def _listing(entries: list[str]) -> Reply:
    return Reply(200, "\n".join(entries).encode())


def _iso(ts: float) -> str:
    return time.strftime(_TIME, time.gmtime(ts))


@dataclass(frozen=True, slots=True)
class Request:
    """One metadata request, as the apps hand it to ``MetadataService.handle``."""

    method: str
    path: str  # origin form, e.g. /latest/meta-data/instance-id
    headers: dict[str, str]  # lower-case names


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """What one request needs from the store, read in one transaction."""

    view: instance_roles.InstanceView
    options: instance_roles.MetadataOptions
    role: Any  # instance_ram_roles row, or None


class MetadataService:
    """The metadata protocol over the store; the apps below decide which instance is asking."""

    def __init__(
        self, db: Database, master_key: MasterKey, *, threads: int = 8, token_key: bytes | None = None
    ) -> None:
        """``token_key``: give the same one to every process serving one VPC, so that a token one of
        them issued is accepted by the others (default: a fresh key of this process)."""
        self.db = db
        self.master_key = master_key
        self.clock: Callable[[], float] = time.time
        self._token_key = token_key or secrets.token_bytes(32)
        # (instance, role id, extra policy) -> the session handed out and when it was issued
        self._issued: dict[tuple[str, str, str | None], tuple[StsCredentials, float]] = {}
        self._lock = threading.Lock()
        self._proxy_secret: str | None = None
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="metadata")

    def close(self) -> None:
        self.pool.shutdown(wait=False)

    # ------------------------------------------------------------ identities

    def instance_at(self, vpc_id: str, address: str) -> str | None:
        """The running instance of the VPC holding ``address`` (the caller of the VPC app)."""
        with self.db.read() as conn:
            return instance_roles.running_instance_at(conn, vpc_id, address)

    def running(self, instance_id: str) -> bool:
        with self.db.read() as conn:
            status = conn.execute(select(instances.c.status).where(instances.c.id == instance_id)).scalar()
        return status == "Running"

    def proxy_secret(self) -> str:
        """The installation's proxy secret (sealed in ``meta``), made on first use by any process."""
        if self._proxy_secret is not None:
            return self._proxy_secret
        with self.db.write() as conn:
            sealed = conn.execute(select(meta.c.value).where(meta.c.key == PROXY_SECRET_KEY)).scalar()
            if sealed is None:
                fresh = self.master_key.seal(secrets.token_urlsafe(24))
                self.db.insert_ignore(conn, meta, key=PROXY_SECRET_KEY, value=fresh)
                sealed = conn.execute(select(meta.c.value).where(meta.c.key == PROXY_SECRET_KEY)).scalar()
        self._proxy_secret = self.master_key.unseal(str(sealed))
        return self._proxy_secret

    def app_for_vpc(self, vpc_id: str) -> MetadataApp:
        """The app for 100.100.100.200 inside ``vpc_id``: callers are known by their source address."""
        log.info("metadata service for %s: callers identified by their source address in the VPC", vpc_id)

        def resolve(scope: Scope, headers: dict[str, str]) -> str | Reply:
            client = scope.get("client") or ("", 0)
            instance_id = self.instance_at(vpc_id, client[0])
            return instance_id or _error(403, f"{client[0]} is not a running instance of {vpc_id}")

        return MetadataApp(self, resolve)

    def proxy_app(self) -> MetadataApp:
        """The development app: an HTTP proxy naming the instance in its credentials."""
        secret = self.proxy_secret()

        def resolve(scope: Scope, headers: dict[str, str]) -> str | Reply:
            host = headers.get("host", METADATA_HOST)
            if host.removesuffix(":80") != METADATA_HOST:
                return _error(403, f"this proxy serves http://{METADATA_HOST}/ only")
            instance_id = _proxy_user(headers.get("proxy-authorization", ""), secret)
            if instance_id is None:
                return Reply(
                    407,
                    b"407 - Proxy Authentication Required: name the instance as the proxy user, "
                    b"HTTP_PROXY=http://<instance-id>:<secret>@host:port",
                    headers=(("proxy-authenticate", 'Basic realm="secplane metadata"'),),
                )
            if not self.running(instance_id):
                return _error(403, f"{instance_id} is not a running instance")
            return instance_id

        return MetadataApp(self, resolve)

    # ------------------------------------------------------------ the protocol

    def handle(self, instance_id: str, request: Request) -> Reply:
        """Answer ``instance_id``'s request (the app already established who it is)."""
        snap = self._snapshot(instance_id)
        if snap is None:
            return _error(404)
        if snap.options.http_endpoint != "enabled":
            return _error(403)
        path = request.path
        if path.rstrip("/") == TOKEN_PATH:
            return self._token(instance_id, request)
        if request.method not in ("GET", "HEAD"):
            return _error(405)
        token = request.headers.get(TOKEN_HEADER)
        if token is not None:
            if not self._token_valid(instance_id, token):
                return _error(401)
        elif snap.options.http_tokens == "required":
            return _error(403)
        reply = self._item(snap, path)
        return Reply(reply.status, b"", reply.content_type) if request.method == "HEAD" else reply

    def _snapshot(self, instance_id: str) -> _Snapshot | None:
        with self.db.read() as conn:
            view = instance_roles.instance_view(conn, instance_id)
            if view is None:
                return None
            options = instance_roles.options_of(conn, [instance_id])[instance_id]
            role = instance_roles.roles_of(conn, [instance_id]).get(instance_id)
        return _Snapshot(view, options, role)

    # ------------------------------------------------------------ hardened mode

    def _token(self, instance_id: str, request: Request) -> Reply:
        if request.method != "PUT":
            return _error(405)
        if "x-forwarded-for" in request.headers:
            return _error(403)
        raw = request.headers.get(TTL_HEADER, "").strip()
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_TOKEN_TTL:
            return _error(400)
        return Reply(200, self.issue_token(instance_id, int(raw)).encode())

    def _token_mac(self, instance_id: str, expiry: int) -> bytes:
        message = f"{instance_id}\n{expiry}".encode()
        return hmac.new(self._token_key, message, hashlib.sha256).digest()[:24]

    def issue_token(self, instance_id: str, ttl: int) -> str:
        expiry = int(self.clock()) + ttl
        raw = expiry.to_bytes(8, "big") + self._token_mac(instance_id, expiry)
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _token_valid(self, instance_id: str, token: str) -> bool:
        try:
            raw = base64.urlsafe_b64decode(token.strip() + "=" * (-len(token.strip()) % 4))
        except (binascii.Error, ValueError):
            return False
        if len(raw) != 32:
            return False
        expiry = int.from_bytes(raw[:8], "big")
        return expiry > self.clock() and hmac.compare_digest(raw[8:], self._token_mac(instance_id, expiry))

    # ------------------------------------------------------------ items

    def _item(self, snap: _Snapshot, path: str) -> Reply:
        key = path.lower().rstrip("/")
        v = snap.view
        i = v.instance
        items = {
            "instance-id": i.id,
            "region-id": i.region_id,
            "zone-id": i.zone_id,
            "hostname": i.host_name,
            "image-id": i.image_id,
            "private-ipv4": v.private_ip,
            "mac": v.mac,
            "network-type": i.network_type,
            "owner-account-id": i.account_id,
            "vpc-id": i.vpc_id,
            "vswitch-id": i.vswitch_id,
            "vpc-cidr-block": v.vpc_cidr,
            "vswitch-cidr-block": v.vswitch_cidr,
            "instance/instance-type": i.instance_type,
            "instance/instance-name": i.name,
        }
        if key in ("", "/latest"):
            return _listing(["latest"] if not key else ["dynamic/", "meta-data/", "user-data"])
        if key == "/latest/user-data":
            return _text(_user_data(i.user_data))
        if key.startswith("/latest/dynamic"):
            return self._dynamic(key, items)
        if key == "/latest/meta-data":
            entries = sorted(k for k in items if "/" not in k and items[k])
            entries += ["instance/"] + (["public-keys/"] if v.public_keys else [])
            return _listing(sorted(entries + (["ram/"] if snap.role is not None else [])))
        sub = key.removeprefix("/latest/meta-data/") if key.startswith("/latest/meta-data/") else None
        if sub is None:
            return _error(404)
        if sub in items:
            return _text(items[sub])
        if sub == "instance":
            return _listing(sorted(k.split("/", 1)[1] for k in items if k.startswith("instance/")))
        if sub.startswith("public-keys"):
            return _public_keys(sub, v.public_keys)
        if sub.startswith("ram"):
            return self._ram(sub, path, snap)
        return _error(404)

    def _dynamic(self, key: str, items: dict[str, str]) -> Reply:
        if key == "/latest/dynamic":
            return _listing(["instance-identity/"])
        if key == "/latest/dynamic/instance-identity":
            return _listing(["document"])
        if key == "/latest/dynamic/instance-identity/document":
            names = (
                "zone-id",
                "instance-id",
                "region-id",
                "private-ipv4",
                "owner-account-id",
                "mac",
                "image-id",
            )
            document = {name: items[name] for name in names}
            document["instance-type"] = items["instance/instance-type"]
            return Reply(200, json.dumps(document).encode(), "application/json")
        return _error(404)

    def _ram(self, sub: str, path: str, snap: _Snapshot) -> Reply:
        role = snap.role
        if role is None:
            return _error(404)
        if sub == "ram":
            return _listing(["security-credentials/"])
        if sub == "ram/security-credentials":
            return Reply(200, role.role_name.encode())  # no trailing newline: the SDK appends it verbatim
        asked = path.rstrip("/").rsplit("/", 1)[1]
        if sub.count("/") != 2 or asked.lower() != role.role_name.lower():
            return _error(404)
        creds, issued_at = self.credentials(snap.view.instance, role)
        body = {
            "AccessKeyId": creds.access_key_id,
            "AccessKeySecret": creds.access_key_secret,
            "Expiration": _iso(creds.expiration),
            "SecurityToken": creds.security_token,
            "LastUpdated": _iso(issued_at),
            "Code": "Success",
        }
        return Reply(200, json.dumps(body, indent=2).encode(), "application/json")

    # ------------------------------------------------------------ credentials

    def credentials(self, instance: Any, role: Any) -> tuple[StsCredentials, float]:
        """The role session this instance gets now, and when it was issued: the cached one, or a new one
        when less than ``REFRESH_MARGIN`` is left (the old one stays valid until it expires)."""
        key = (instance.id, role.role_id, role.policy)
        with self._lock:
            now = self.clock()
            cached = self._issued.get(key)
            if cached is not None and cached[0].expiration - now >= REFRESH_MARGIN:
                return cached
            with self.db.write() as conn:
                fresh = issue_session(
                    conn, self.master_key, account_id=instance.account_id, role_id=role.role_id,
                    session_name=instance.id, duration=CREDENTIAL_DURATION, caller=ECS_SERVICE, now=now,
                    session_policy=role.policy,
                )  # fmt: skip
            for stale in [k for k, (c, _) in self._issued.items() if c.expiration <= now]:
                del self._issued[stale]
            self._issued[key] = (fresh, now)
            return fresh, now


def _user_data(stored: str) -> str:
    """User data is kept as the Base64 the API took; the instance reads the bytes it stands for."""
    if not stored:
        return ""
    try:
        return base64.b64decode(stored).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return ""


def _public_keys(sub: str, keys: list[str]) -> Reply:
    if not keys:
        return _error(404)
    if sub == "public-keys":
        return _listing([f"{n}/" for n in range(len(keys))])
    parts = sub.split("/")
    if len(parts) < 2 or not parts[1].isdigit() or int(parts[1]) >= len(keys):
        return _error(404)
    if len(parts) == 2:
        return _listing(["openssh-key"])
    return _text(keys[int(parts[1])]) if parts[2:] == ["openssh-key"] else _error(404)


def _proxy_user(header: str, secret: str) -> str | None:
    """The instance id of ``Proxy-Authorization: Basic base64(<instance-id>:<secret>)``, if the secret
    is right."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip()).decode().partition(":")
    except (binascii.Error, ValueError):
        return None
    if not sep or not user or not hmac.compare_digest(password.encode(), secret.encode()):
        return None
    return user


# ---------------------------------------------------------------- ASGI


class MetadataApp:
    """Plain ASGI shell: find the caller with ``resolve``, answer with ``service.handle`` on the
    service's thread pool (the store is synchronous)."""

    def __init__(
        self, service: MetadataService, resolve: Callable[[Scope, dict[str, str]], str | Reply]
    ) -> None:
        self.service = service
        self.resolve = resolve

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": f"{message['type']}.complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        if scope["type"] != "http":
            return
        size, more = 0, True
        while more:  # the body means nothing here, but is read (and bounded)
            message = await receive()
            size += len(message.get("body", b""))
            more = message.get("more_body", False)
            if size > _MAX_BODY:
                await _send(send, _error(400))
                return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        loop = asyncio.get_running_loop()
        reply = await loop.run_in_executor(self.service.pool, self._answer, scope, headers)
        await _send(send, reply)

    def _answer(self, scope: Scope, headers: dict[str, str]) -> Reply:
        who = self.resolve(scope, headers)
        if isinstance(who, Reply):
            return who
        path = scope.get("path", "/")
        if path.startswith(("http://", "https://")):  # a proxy-form target not split by the server
            path = urlsplit(path).path or "/"
        try:
            return self.service.handle(who, Request(scope["method"].upper(), path, headers))
        except Exception:
            log.exception("metadata request %s %s of %s failed", scope["method"], path, who)
            return Reply(500, b"500 - Internal Server Error")


async def _send(send: Send, reply: Reply) -> None:
    headers = [
        (b"content-type", reply.content_type.encode()),
        (b"content-length", str(len(reply.body)).encode()),
    ]
    headers += [(k.encode(), v.encode()) for k, v in reply.headers]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})


# ---------------------------------------------------------------- running it


def uvicorn_config(app: MetadataApp, host: str, port: int) -> uvicorn.Config:
    """How to serve a metadata app: the client address must be the TCP peer, so uvicorn's
    ``X-Forwarded-For`` handling is off; logs go through ours."""
    return uvicorn.Config(
        app, host=host, port=port, proxy_headers=False, server_header=False, access_log=False,
        log_config=None, lifespan="on",
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class MetadataProxy:
    """A running development proxy: point ``HTTP_PROXY`` at ``proxy_url(instance_id)``."""

    host: str
    port: int
    secret: str
    service: MetadataService

    def proxy_url(self, instance_id: str) -> str:
        return f"http://{instance_id}:{self.secret}@{self.host}:{self.port}"


@contextmanager
def serve_metadata_proxy(settings: Settings, port: int, host: str = "127.0.0.1") -> Iterator[MetadataProxy]:
    """Run the development metadata proxy on ``host:port`` (0: any free port) in a thread, against the
    installation ``settings`` names, until the block ends."""
    db, master_key = open_store(settings)
    service = MetadataService(db, master_key)
    server = uvicorn.Server(uvicorn_config(service.proxy_app(), host, port))
    thread = threading.Thread(target=server.run, name="metadata-proxy", daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError(f"the metadata proxy could not listen on {host}:{port}")
            time.sleep(0.02)
        bound = server.servers[0].sockets[0].getsockname()[1]
        proxy = MetadataProxy(host, int(bound), service.proxy_secret(), service)
        log.info(
            "metadata service: development proxy mode (no namespaces) on %s:%d; name the instance in the "
            "proxy credentials: HTTP_PROXY=%s",
            host, proxy.port, proxy.proxy_url("<instance-id>"),
        )  # fmt: skip
        yield proxy
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        service.close()
        db.dispose()
