"""The API gateway: one request, one straight path.

decode → authenticate → route → bind → authorize → handle (one transaction) → render, with a request
id and an audit record for every call. ``Gateway.handle`` is that path, synchronous; ``App`` is the
ASGI shell around it that runs it on a thread pool and answers ``/health``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from secplane import operations  # noqa: F401  (registers every operation)
from secplane.authn import Authenticator, Caller
from secplane.authz import Authorizer
from secplane.bootstrap import open_store
from secplane.config import Settings
from secplane.domain.ids import request_id as new_request_id
from secplane.domain.regions import REGIONS_BY_ID
from secplane.operations.context import Context
from secplane.operations.registry import RAM, REGISTRY, Operation, find
from secplane.protocol.errors import INTERNAL_ERROR_MESSAGE, ApiError, missing_parameter
from secplane.protocol.params import bind
from secplane.protocol.render import JSON_CONTENT_TYPE, render
from secplane.protocol.wire import WireRequest, signed_request
from secplane.risk_scheduler import RiskScheduler
from secplane.store import idempotency
from secplane.store.audit import AuditEvent, AuditWriter
from secplane.store.ram_entities import bump_revision

log = logging.getLogger("secplane.gateway")
T = TypeVar("T")

# Parameters of the protocol, not of any action: left out of the ClientToken digest.
COMMON_PARAMS = frozenset(
    {
        "Action",
        "Version",
        "Format",
        "AccessKeyId",
        "Signature",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureNonce",
        "SignatureType",
        "Timestamp",
        "SecurityToken",
        "ClientToken",
    }
)
_ALIBABA_HOST = re.compile(
    r"^[a-z0-9]+(?:-(?:vpc|intl|share))?\.([a-z]{2}-[a-z0-9-]+?)\.aliyuncs\.com(?::\d+)?$"
)


@dataclass(slots=True)
class Response:
    status: int
    body: bytes
    content_type: str
    headers: list[tuple[str, str]] = field(default_factory=list)


class Gateway:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock  # tests move it to see credentials expire
        self.db, self.master_key = open_store(settings)
        self.authn = Authenticator(self.db, self.master_key)
        self.authz = Authorizer(self.db)
        self.audit = AuditWriter(self.db)
        self.risk = RiskScheduler.from_env(self.db)  # the daily risk snapshot (None when turned off)
        if self.risk is not None:
            self.risk.start()

    def close(self) -> None:
        if self.risk is not None:
            self.risk.close()
        self.audit.close()
        self.db.dispose()

    # ------------------------------------------------------------ the path

    def handle(self, w: WireRequest) -> Response:
        started = time.perf_counter()
        now = self.clock()
        rid = new_request_id()
        xml_root: str | None = None
        caller: Caller | None = None
        op: Operation[Any] | None = None
        action = version = ""
        signed = None
        touched: list[str] = []
        try:
            if w.params.get("Format", "").upper() == "XML":
                xml_root = "Error"
            signed = signed_request(w)
            action, version = signed.action, signed.version
            if not action:
                raise missing_parameter("Action")
            op = REGISTRY.get((version, action))  # known before authenticating, for the audit record
            caller = self.authn.authenticate(signed, now, defer_nonce=op is not None and op.writes)
            op = find(version, action)
            params = {k: v for k, v in w.params.items() if k not in COMMON_PARAMS or k == "ClientToken"}
            region_id = self._region(op, params, w.host)
            request = bind(params, op.request)
            ctx = Context(
                request_id=rid,
                principal=caller.principal,
                access_key_id=caller.access_key_id,
                source_ip=w.client_ip,
                service=op.product.service,
                region_id=region_id,
                now=now,
                db=self.db,
                master_key=self.master_key,
                touched=touched,
                ram_revision=caller.revision,
                session_policy=caller.session_policy,
                authorizer=self.authz.require,
            )
            touched.extend(self.authz.authorize(ctx, op, request))
            body = self._execute(ctx, op, request, params, caller.pending_nonce)
            if op.product is RAM and op.writes:
                self.authn.keys.clear()  # the account's own keys are otherwise kept a moment
            result = {"RequestId": rid, **body}
            status, code, message = 200, "Success", ""
            payload, ctype = render(result, f"{action}Response" if xml_root else None)
        except Exception as exc:
            failure = self._failure(exc, action, rid)
            status, code, message = failure.status, failure.code, failure.message
            payload, ctype = self._error(rid, failure, w, op, xml_root)
            if caller is not None and caller.pending_nonce is not None:
                self._claim_after_failure(caller.pending_nonce, now)
        self.audit.record(
            AuditEvent(
                at=now,
                request_id=rid,
                account_id=caller.principal.account_id if caller else "",
                principal=caller.principal.arn if caller else "",
                access_key_id=(
                    caller.access_key_id
                    if caller
                    else signed.access_key_id
                    if signed
                    else w.params.get("AccessKeyId", "")
                ),
                source_ip=w.client_ip,
                product=op.product.name if op else "",
                version=version,
                action=action,
                resources=",".join(touched),
                result=code,
                http_status=status,
                latency_ms=(time.perf_counter() - started) * 1000.0,
                message=message[:1000],
            )
        )
        return Response(status, payload, ctype)

    def _claim_after_failure(self, pending: tuple[str, str], now: float) -> None:
        """A failed call's transaction did not commit its nonce: take it now, so that the request
        cannot be replayed later, when it might succeed."""
        try:
            self.authn.claim_now(pending, now)
        except DBAPIError:
            log.exception("could not record the nonce of a failed call")

    @staticmethod
    def _failure(exc: Exception, action: str, rid: str) -> ApiError:
        """What the client is told: the API error itself, 503 for an unreachable database, else a 500
        (logged with the request id, which the client also gets)."""
        if isinstance(exc, ApiError):
            return exc
        if isinstance(exc, DBAPIError):
            log.exception("database error in %s (request %s)", action, rid)
            return _database_error(exc)
        log.exception("internal error in %s (request %s)", action, rid)
        return ApiError("InternalError", INTERNAL_ERROR_MESSAGE, 500)

    def _region(self, op: Operation[Any], params: dict[str, str], host: str) -> str:
        """The call's region: the parameter, else the Alibaba-style Host name, else the default."""
        if op.region == "none":
            return ""  # a global service (RAM, STS): the legacy SDK's RegionId means nothing here
        region_id = params.get("RegionId", "")
        if not region_id:
            match = _ALIBABA_HOST.match(host.lower())
            if match and match.group(1) in REGIONS_BY_ID:
                region_id = params["RegionId"] = match.group(1)
        if not region_id:
            if op.region == "required":
                raise missing_parameter("RegionId")
            return self.settings.region_id
        if region_id not in REGIONS_BY_ID:
            raise ApiError("InvalidRegionId.NotFound", "The specified RegionId does not exist.", 404)
        return region_id

    def _execute(
        self,
        ctx: Context,
        op: Operation[Any],
        request: Any,
        params: dict[str, str],
        pending_nonce: tuple[str, str] | None,
    ) -> dict[str, Any]:
        """Run the handler in one transaction, which also claims the call's nonce when authentication
        left it (a writing call); replay the first result for a repeated ClientToken."""
        token = params.get("ClientToken", "") if op.idempotent else ""
        if token and (len(token) > 64 or not token.isascii()):
            raise ApiError("InvalidClientToken.ValueNotSupported", "The ClientToken provided is invalid.")
        begin = self.db.write if op.writes else self.db.read
        for attempt in (1, 2):
            try:
                with ExitStack() as stack:
                    ctx._conn = None
                    ctx.begin = lambda: stack.enter_context(begin())
                    if pending_nonce is not None:
                        self.authn.claim_in(ctx.conn, pending_nonce, ctx.now)
                    if not token:
                        body = op.handler(ctx, request)
                        if op.product is RAM and op.writes:
                            bump_revision(ctx.conn, ctx.account_id)  # every process's policy cache
                        return body
                    digest = hashlib.sha256(json.dumps(sorted(params.items())).encode()).hexdigest()
                    prior = idempotency.recall(ctx.conn, ctx.account_id, op.action, token)
                    if prior is not None:
                        if prior[0] != digest:
                            raise ApiError(
                                "IdempotentParameterMismatch",
                                "The request uses the same client token as a previous, but non-identical "
                                "request. Do not reuse a client token with different requests.",
                            )
                        return msgspec.json.decode(prior[1])
                    body = op.handler(ctx, request)
                    if op.product is RAM and op.writes:
                        bump_revision(ctx.conn, ctx.account_id)
                    idempotency.remember(
                        ctx.conn, ctx.account_id, op.action, token, digest, msgspec.json.encode(body).decode()
                    )
                    return body
            except IntegrityError:
                if attempt == 2 or not token:
                    raise
                ctx.touched.clear()  # a concurrent call with the same token won: replay its result
        raise AssertionError("unreachable")

    def _error(
        self, rid: str, err: ApiError, w: WireRequest, op: Operation[Any] | None, xml_root: str | None
    ) -> tuple[bytes, str]:
        product = op.product.name if op else "Ecs"
        body = {
            "RequestId": rid,
            "HostId": w.host or "ecs.aliyuncs.com",
            "Code": err.code,
            "Message": err.message,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={err.code}&product={product}&requestId={rid}",
        }
        if err.extra:
            body.update(err.extra)
        return render(body, xml_root)

    def healthy(self) -> bool:
        return self.db.ping()


def _database_error(exc: DBAPIError) -> ApiError:
    """Unreachable or busy database: 503, which the SDKs treat as retryable; anything else is a 500."""
    if exc.connection_invalidated or isinstance(exc, OperationalError):
        return ApiError(
            "ServiceUnavailable", "The request has failed due to a temporary failure of the server.", 503
        )
    return ApiError("InternalError", INTERNAL_ERROR_MESSAGE, 500)


# ---------------------------------------------------------------- ASGI

MAX_BODY = 16 * 1024 * 1024


class App:
    """ASGI application: the API on ``/`` (and proxy-form targets), ``GET /health``.

    Requests run inline on the event loop or on a thread pool, per ``Settings.request_threads``.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.gateway: Gateway | None = None
        threads = self.settings.request_threads
        self._inline = threads == 0
        # start-up and shut-down (migrations, flushing the audit) always run off the loop
        self._pool = ThreadPoolExecutor(max_workers=max(threads, 1), thread_name_prefix="api")

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._inline:
            return fn(*args)
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        loop = asyncio.get_running_loop()
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.gateway = await loop.run_in_executor(self._pool, Gateway, self.settings)
                except Exception as exc:
                    log.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                threads = self.settings.request_threads
                log.info(
                    "requests run %s",
                    f"on {threads} threads" if threads else "one at a time on the event loop (--threads 0)",
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.gateway is not None:
                    await loop.run_in_executor(self._pool, self.gateway.close)
                self._pool.shutdown(wait=False)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_BODY:
                await _send(send, 413, b'{"Code":"RequestTooLarge"}', "application/json")
                return
        gateway = self.gateway
        path = scope.get("path", "/")
        if gateway is None:
            await _send(send, 503, b'{"status":"starting"}', "application/json")
            return
        if path == "/ping":  # the HTTP floor: same stack, no authentication, no database
            await _send(send, 200, b'{"status":"pong"}', "application/json")
            return
        if path == "/health":
            ok = await self._run(gateway.healthy)
            await _send(
                send,
                200 if ok else 503,
                b'{"status":"ok"}' if ok else b'{"status":"unavailable"}',
                "application/json",
            )
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        client = scope.get("client") or ("", 0)
        raw_path = scope.get("raw_path") or path.encode()
        target = raw_path.decode("latin-1")
        try:
            wire = WireRequest.parse(
                scope["method"],
                target,
                scope.get("query_string", b"").decode("utf-8", "replace"),
                headers,
                body,
                client[0],
            )
        except ApiError as bad_body:
            await _send(
                send, bad_body.status, _shell_error(bad_body, headers.get("host", "")), JSON_CONTENT_TYPE
            )
            return
        if wire.path != "/":
            unknown = ApiError(
                "InvalidAction.NotFound", "Specified api is not found, please check your url and method.", 404
            )
            await _send(send, 404, _shell_error(unknown, wire.host), JSON_CONTENT_TYPE)
            return
        response = await self._run(gateway.handle, wire)
        await _send(send, response.status, response.body, response.content_type)


def _shell_error(err: ApiError, host: str) -> bytes:
    """The full error envelope for errors answered before the gateway (bad body, path other than /)."""
    rid = new_request_id()
    return msgspec.json.encode(
        {
            "RequestId": rid,
            "HostId": host or "ecs.aliyuncs.com",
            "Code": err.code,
            "Message": err.message,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={err.code}&product=Ecs&requestId={rid}",
        }
    )


async def _send(send: Any, status: int, body: bytes, content_type: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def create_app() -> App:
    """The uvicorn factory: settings come from ``SECPLANE_*`` environment variables."""
    return App(Settings.from_env())
