"""``secplane risk snapshot | report``: take the risk snapshot now, and report from a snapshot.

Both read and write the database directly, as ``secplane audit`` does: the snapshot covers every
account and region of the installation, which no API caller may see. ``snapshot`` takes today's (UTC)
and replaces an earlier one of the same day; the server takes one a day by itself
(``secplane.risk_scheduler``). ``report`` reads the latest snapshot by default — today's too, unlike
DescribeRiskySecurityGroups, whose default is the latest *before* today (SPEC SG-18) — and prints a
table, or with ``--json`` the groups as the API shows them (plus their ``AccountId``).
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from typing import Any

from secplane.domain.risk import LEVELS

Body = dict[str, Any]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from secplane.cli import _store_args  # the shared --data-dir / --database-url

    risk = sub.add_parser("risk", help="security-group risk snapshots: take one now, report from one")
    tasks = risk.add_subparsers(dest="risk_command", required=True)

    snapshot = tasks.add_parser("snapshot", help="compute every group's findings now (today's snapshot)")
    _store_args(snapshot)
    snapshot.add_argument("--json", action="store_true", help="print JSON for scripts")
    snapshot.set_defaults(func=cmd_snapshot)

    report = tasks.add_parser("report", help="the riskiest groups of a snapshot, with their findings")
    _store_args(report)
    report.add_argument("--json", action="store_true", help="print JSON for scripts")
    report.add_argument(
        "--snapshot", default="latest", metavar="latest|YYYY-MM-DD", help="which day's (default: latest)"
    )
    report.add_argument("--level", choices=LEVELS, default="info", help="the lowest level shown")
    report.add_argument("--region", help="only this region")
    report.add_argument("--account", help="only this account id")
    report.add_argument("--limit", type=int, default=50, help="groups shown, riskiest first (default 50)")
    report.set_defaults(func=cmd_report)


def _database(args: argparse.Namespace) -> Any:
    from secplane.cli import _settings
    from secplane.store.db import Database

    return Database(_settings(args).effective_database_url, pool_size=2)


def _fail(message: str) -> int:
    print(f"secplane risk: {message}", file=sys.stderr)
    return 1


_NOT_READY = "the database has no risk tables: run `secplane init` (or `secplane serve`) first"


def cmd_snapshot(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import DBAPIError

    from secplane.store import risk

    db = _database(args)
    try:
        run = risk.take_snapshot(db, taken_by=f"cli@{socket.gethostname()}")
    except DBAPIError as err:
        return _fail(f"{_NOT_READY} ({err.orig})")
    finally:
        db.dispose()
    seconds = (run.finished_at or run.started_at) - run.started_at
    if args.json:
        json.dump(
            {
                "SnapshotDate": run.day, "RunId": run.id, "Groups": run.groups, "Rules": run.rules,
                "Findings": run.findings, "Seconds": round(seconds, 3),
            },
            sys.stdout,
            indent=2,
        )  # fmt: skip
        sys.stdout.write("\n")
    else:
        print(
            f"risk snapshot {run.day}: {run.groups:,} groups, {run.rules:,} rules, {run.findings:,} findings "
            f"in {seconds:.1f} s"
        )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import DBAPIError

    from secplane.domain.risk_text import reason
    from secplane.operations.ecs.common import iso_seconds
    from secplane.operations.secplane.risk import group_body
    from secplane.store import risk

    day = None
    if args.snapshot != "latest":
        try:
            day = risk.parse_day(args.snapshot)
        except ValueError:
            return _fail(f"--snapshot must be latest or a date YYYY-MM-DD, not {args.snapshot!r}")
    db = _database(args)
    try:
        with db.read() as conn:
            run = risk.find_run(conn, day=day)
            if run is None:
                which = f"of {day}" if day else "yet"
                return _fail(f"there is no risk snapshot {which}: take one with `secplane risk snapshot`")
            total, page = risk.snapshot_groups(
                conn, run.id, account_id=args.account, region_id=args.region, min_level=args.level,
                limit=max(args.limit, 0),
            )  # fmt: skip
    except DBAPIError as err:
        return _fail(f"{_NOT_READY} ({err.orig})")
    finally:
        db.dispose()
    taken = iso_seconds(run.finished_at) if run.finished_at else ""
    if args.json:
        groups = [{"AccountId": g.account_id, **group_body(g)} for g in page]
        body = {"SnapshotDate": run.day, "SnapshotTime": taken, "TotalCount": total, "SecurityGroups": groups}
        json.dump(body, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    print(
        f"risk snapshot {run.day} (taken {taken}): {total:,} groups with findings at {args.level} or worse, "
        f"{len(page):,} shown"
    )
    if page:
        head = ("LEVEL", "SERIOUS", "WARNING", "INFO", "SECURITY GROUP", "REGION", "ACCOUNT")
        print("\n{:<8} {:>7} {:>7} {:>5}  {:<26} {:<16} {}".format(*head))
    for g in page:
        print(
            f"{g.level:<8} {g.serious:>7} {g.warning:>7} {g.info:>5}  {g.group_id:<26} {g.region_id:<16} "
            f"{g.account_id}"
        )
        for f in g.findings:
            print(f"    {f.level:<8} {f.code:<30} {reason(f)[0]}")
    return 0
