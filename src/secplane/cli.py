"""``secplane serve | init | audit | admin``: run the server, look at what it recorded, operator tasks."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import time
from datetime import UTC, datetime

from secplane import cli_iam, cli_lab, cli_risk, cli_sg, logs
from secplane.config import Settings

SNIPPET = """\
  from alibabacloud_tea_openapi.models import Config
  from alibabacloud_ecs20140526.client import Client
  client = Client(Config(access_key_id="{access_key_id}", access_key_secret="{access_key_secret}",\
 endpoint="{endpoint}", protocol="http", region_id="{region_id}"))"""


def _store_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="state directory (env SECPLANE_DATA_DIR, default ./.secplane)")
    p.add_argument(
        "--database-url", help="SQLAlchemy URL (env SECPLANE_DATABASE_URL, default SQLite in the data dir)"
    )


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        listen=getattr(args, "listen", None),
        data_dir=args.data_dir,
        database_url=args.database_url,
        workers=getattr(args, "workers", None),
        threads=getattr(args, "threads", None),
    )


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from secplane.bootstrap import initialize
    from secplane.http_protocol import CoalescingHttpToolsProtocol

    settings = _settings(args)
    logs.setup(args.log_level.upper())
    creds = initialize(settings)
    print(f"secplane {settings.endpoint}: listening on http://{settings.listen}", flush=True)
    if creds is not None:
        print(
            f"""
Created the root account. Its credentials (shown once, saved to {settings.data_dir / "credentials.json"}):
  account_id         {creds.account_id}
  access_key_id      {creds.access_key_id}
  access_key_secret  {creds.access_key_secret}
  endpoint           {creds.endpoint}  (protocol http)
  region_id          {creds.region_id}

Point an SDK at it:
{SNIPPET.format(**creds.as_dict())}
""",
            flush=True,
        )
    else:
        print(f"credentials: {settings.data_dir / 'credentials.json'}", flush=True)
    os.environ.update(settings.to_env())
    with contextlib.ExitStack() as stack:
        # Background parts live in this (the supervising) process, once per server, not per worker.
        stack.enter_context(cli_lab.dataplane(args.dataplane, settings))
        if args.metadata_proxy is not None:
            from secplane.dataplane.metadata import serve_metadata_proxy

            stack.enter_context(serve_metadata_proxy(settings, args.metadata_proxy))
        uvicorn.run(
            "secplane.gateway:create_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            log_config=None,
            log_level=args.log_level.lower(),
            access_log=False,
            timeout_graceful_shutdown=10,
            http=CoalescingHttpToolsProtocol,
        )
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from secplane.bootstrap import initialize

    settings = _settings(args)
    creds = initialize(settings)
    if creds is None:
        print(f"already initialized; credentials in {settings.data_dir / 'credentials.json'}")
    else:
        print(json.dumps(creds.as_dict(), indent=2))
    return 0


_RELATIVE = re.compile(r"^-?(\d+)([smhd])$")


def parse_time(value: str) -> float:
    """An ISO 8601 time (``2026-11-28T10:00:00Z``) or a span back from now (``15m``, ``2h``, ``7d``)."""
    m = _RELATIVE.match(value.strip())
    if m:
        return time.time() - int(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def cmd_audit(args: argparse.Namespace) -> int:
    from secplane.store.audit import query_events
    from secplane.store.db import Database

    settings = _settings(args)
    db = Database(settings.effective_database_url, pool_size=1)
    try:
        with db.read() as conn:
            events = query_events(
                conn,
                since=parse_time(args.since) if args.since else None,
                until=parse_time(args.until) if args.until else None,
                action=args.action,
                principal=args.principal,
                result=args.result,
                limit=args.limit,
            )
    finally:
        db.dispose()
    for e in events:
        e["time"] = datetime.fromtimestamp(e["at"], UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if args.json:
        json.dump(events, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    for e in events:
        print(
            f"{e['time']}  {e['result']:<32} {e['http_status']:>3}  {e['product'] or '-':<4} "
            f"{e['action'] or '-':<28} {e['principal'] or '-':<40} {e['source_ip'] or '-':<15} "
            f"{e['latency_ms']:7.2f}ms  {e['request_id']}  {e['resources']}"
        )
    return 0


def cmd_admin(args: argparse.Namespace) -> int:
    """``secplane admin …``: operator tasks no public API offers (the work is in ``secplane.admin``)."""
    from secplane import admin

    settings = _settings(args)
    try:
        if args.admin_command == "create-service-key":
            key = admin.create_service_key(settings, args.service_id, args.account_id)
            print(json.dumps(key.as_dict(), indent=2))
        else:
            print(
                admin.create_managed_security_group(
                    settings,
                    service_id=args.service_id,
                    region_id=args.region,
                    vpc_id=args.vpc_id,
                    name=args.name,
                    description=args.description,
                    account_id=args.account_id,
                )
            )
    except admin.AdminError as err:
        print(f"secplane admin: {err}", file=sys.stderr)
        return 1
    return 0


def _admin_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    admin = sub.add_parser("admin", help="operator tasks: cloud-service keys, managed security groups")
    tasks = admin.add_subparsers(dest="admin_command", required=True)
    key = tasks.add_parser("create-service-key", help="an access key acting as cloud service N (SG-12)")
    group = tasks.add_parser("create-managed-security-group", help="a security group managed by service N")
    for p in (key, group):
        _store_args(p)
        p.add_argument("--service-id", type=int, required=True, help="the ServiceID (a positive integer)")
        p.add_argument("--account-id", help="owning account (default: the installation's root account)")
        p.set_defaults(func=cmd_admin)
    group.add_argument("--region", required=True, help="region id, e.g. cn-hangzhou")
    group.add_argument("--vpc-id", default="", help="the group's VPC (default: none)")
    group.add_argument("--name", default="", help="SecurityGroupName")
    group.add_argument("--description", default="", help="Description")


def cmd_actions(args: argparse.Namespace) -> int:
    """The registry, as the single list of what the API offers."""
    from secplane import operations  # noqa: F401  (registers every operation)
    from secplane.operations.registry import REGISTRY

    rows = [
        {
            "product": op.product.name,
            "version": op.product.version,
            "action": op.action,
            "ram_action": op.ram_action,
            "writes": op.writes,
            "client_token": op.idempotent,
        }
        for op in sorted(REGISTRY.values(), key=lambda o: (o.product.name, o.action))
    ]
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for row in rows:
            print(f"{row['product']:<9} {row['version']}  {row['action']:<34} {row['ram_action']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="secplane", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API server")
    serve.add_argument("--listen", help="HOST:PORT (env SECPLANE_LISTEN, default 127.0.0.1:8080)")
    serve.add_argument("--workers", type=int, help="worker processes (env SECPLANE_WORKERS, default 1)")
    serve.add_argument(
        "--threads",
        type=int,
        help="request threads per worker, 0 = requests run one at a time on the event loop "
        "(env SECPLANE_THREADS; default 0 on SQLite, 8 on PostgreSQL)",
    )
    serve.add_argument("--log-level", default=os.environ.get("SECPLANE_LOG_LEVEL", "info"))
    _store_args(serve)
    cli_lab.add_serve_arguments(serve)
    serve.add_argument(
        "--metadata-proxy",
        type=int,
        metavar="PORT",
        help="development metadata service: an HTTP proxy on 127.0.0.1:PORT (0: any free port); the "
        "instance is named in the proxy credentials (the log shows the HTTP_PROXY to set)",
    )
    serve.set_defaults(func=cmd_serve)

    init = sub.add_parser("init", help="create the data dir, database and root account without serving")
    _store_args(init)
    init.set_defaults(func=cmd_init)

    audit = sub.add_parser("audit", help="list recorded API calls, newest first")
    _store_args(audit)
    audit.add_argument("--since", help="ISO time or a span back from now: 15m, 2h, 7d")
    audit.add_argument("--until", help="ISO time or a span back from now")
    audit.add_argument("--action", help="exact action name, e.g. DescribeRegions")
    audit.add_argument("--principal", help="principal ARN, e.g. acs:ram::<account>:root")
    audit.add_argument("--result", help="result code (Success, SignatureDoesNotMatch ...) or 'failed'")
    audit.add_argument("--limit", type=int, default=100)
    audit.add_argument("--json", action="store_true", help="print JSON for scripts")
    audit.set_defaults(func=cmd_audit)

    actions = sub.add_parser("actions", help="list every API action this server offers")
    actions.add_argument("--json", action="store_true", help="print JSON for scripts")
    actions.set_defaults(func=cmd_actions)

    cli_iam.add_parser(sub)
    cli_lab.add_parser(sub)
    cli_sg.add_parser(sub)
    cli_risk.add_parser(sub)
    _admin_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
