"""``secplane sg export | import | clone | restore``: the security-group tools from a shell.

Each command is one call of the Secplane API (``ExportSecurityGroupRules`` ...) through
``secplane.client``, so it is authenticated, authorized and audited like any SDK call. Tables for
people, ``--json`` (the API's answer) for scripts. An import is one call and one transaction on the
server, so its progress line shows the upload and the wait, not rule by rule.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from secplane.client import ApiClient
from secplane.config import Settings
from secplane.operations.registry import SECPLANE
from secplane.protocol.errors import ApiError

Body = dict[str, Any]
RULE_COLUMNS = ("Direction", "Policy", "Priority", "Protocol", "Ports", "Authorization object", "Description")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--endpoint", help="API host:port (env SECPLANE_ENDPOINT, else credentials.json)")
    common.add_argument(
        "--data-dir", help="where credentials.json is (env SECPLANE_DATA_DIR, default .secplane)"
    )
    common.add_argument("--json", action="store_true", help="print the API's answer as JSON, for scripts")
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument(
        "--region", help="the security group's region (env SECPLANE_REGION, default cn-hangzhou)"
    )

    sg = sub.add_parser("sg", help="security-group tools: export, import, clone and restore rules")
    tasks = sg.add_subparsers(dest="sg_command", required=True)

    export = tasks.add_parser("export", parents=[common, where], help="write a group's rules to a file")
    export.add_argument("group", metavar="SG")
    export.add_argument("--format", choices=("json", "csv"), default="json")
    export.add_argument(
        "-o", "--output", help="file to write ('-': standard output; default: the console's name)"
    )
    export.set_defaults(func=cmd_export)

    imp = tasks.add_parser("import", parents=[common, where], help="add the rules of a JSON or CSV file")
    imp.add_argument("group", metavar="SG")
    imp.add_argument("file", type=Path, metavar="FILE")
    imp.add_argument("--format", choices=("json", "csv"), help="default: from the file name or content")
    imp.add_argument("--dry-run", action="store_true", help="check every rule, change nothing")
    imp.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, help="default: when stderr is a terminal"
    )
    imp.set_defaults(func=cmd_import)

    clone = tasks.add_parser("clone", parents=[common], help="a new group with another group's rules")
    clone.add_argument("group", metavar="SG")
    clone.add_argument("--name", required=True, help="the new group's name")
    clone.add_argument("--region", help="the new group's region (default: the source's)")
    clone.add_argument("--source-region", help="the source group's region (env SECPLANE_REGION)")
    clone.add_argument("--vpc", help="the new group's VPC (needed in another region or from classic)")
    clone.add_argument("--classic", action="store_true", help="clone into the classic network")
    clone.add_argument("--all-rules", action="store_true", help="also rules above priority 100 (as 100)")
    clone.set_defaults(func=cmd_clone)

    restore = tasks.add_parser("restore", parents=[common, where], help="give SG the rules of another group")
    restore.add_argument("group", metavar="SG")
    restore.add_argument("--from", dest="target", required=True, metavar="TARGET", help="the group to copy")
    restore.add_argument("--mode", choices=("full", "partial"), required=True)
    restore.add_argument("--dry-run", action="store_true", help="show what would change, change nothing")
    restore.set_defaults(func=cmd_restore)


# ---------------------------------------------------------------- commands


def _call(args: argparse.Namespace, action: str, params: Body, region: str | None) -> Body:
    """One API call in the group's region (default: ``SECPLANE_REGION``, else cn-hangzhou)."""
    settings = Settings.from_env(data_dir=args.data_dir)
    client = ApiClient.from_environment(settings.data_dir, args.endpoint or "", settings.endpoint)
    return client.call(SECPLANE.version, action, {"RegionId": region or settings.region_id, **params})


def _run(command: Any) -> Any:
    """Report an API error the way every secplane command does: code and message, exit status 1."""

    def wrapped(args: argparse.Namespace) -> int:
        try:
            return int(command(args))
        except ApiError as err:
            print(f"secplane sg {args.sg_command}: {err.code}: {err.message}", file=sys.stderr)
            return 1

    return wrapped


def _print_json(body: Body) -> None:
    json.dump(body, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


@_run
def cmd_export(args: argparse.Namespace) -> int:
    params = {"SecurityGroupId": args.group, "FileFormat": args.format}
    body = _call(args, "ExportSecurityGroupRules", params, args.region)
    if args.output == "-":
        sys.stdout.write(body["Content"])
        return 0
    path = Path(args.output or body["FileName"])
    with path.open("w", encoding="utf-8", newline="") as out:  # keep the CSV's CRLF as the server wrote it
        out.write(body["Content"])
    if args.json:
        _print_json({**{k: v for k, v in body.items() if k != "Content"}, "Path": str(path)})
    else:
        print(f"{body['RuleCount']} rules of {body['SecurityGroupId']} written to {path}")
    return 0


@_run
def cmd_import(args: argparse.Namespace) -> int:
    data = args.file.read_bytes()
    params: Body = {"SecurityGroupId": args.group, "ContentBase64": base64.b64encode(data).decode()}
    fmt = args.format or {".json": "json", ".csv": "csv"}.get(args.file.suffix.lower())
    if fmt:
        params["FileFormat"] = fmt
    if args.dry_run:
        params["DryRun"] = True
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    verb = "checking" if args.dry_run else "importing"
    with progress(sys.stderr, f"{verb} {args.file.name} ({len(data):,} bytes)", show):
        body = _call(args, "ImportSecurityGroupRules", params, args.region)
    if args.json:
        _print_json(body)
        return 0
    results = body["Results"]["Result"]
    rows = [
        [str(r["Index"]), str(r["Line"] or ""), r["Status"], *_rule_cells(r["Rule"]), r["Code"]]
        for r in results
    ]
    print(table(("#", "Line", "Status", *RULE_COLUMNS, "Reason"), rows))
    for r in results:
        if r["Status"] != "Ok":
            where = f"line {r['Line']}" if r["Line"] else f"rule {r['Index']}"
            print(f"  {where}: {r['Message']}")
    done = (
        "nothing changed (dry run)"
        if body["DryRun"]
        else f"{body['AddedCount']} added to {body['SecurityGroupId']}"
    )
    print(
        f"{body['TotalCount']} rules: {body['OkCount']} ok, {body['SkippedCount']} skipped, "
        f"{body['FailedCount']} failed; {done}"
    )
    return 0


@_run
def cmd_clone(args: argparse.Namespace) -> int:
    params: Body = {"SecurityGroupId": args.group, "SecurityGroupName": args.name}
    if args.region:
        params["DestinationRegionId"] = args.region
    if args.vpc:
        params["VpcId"] = args.vpc
    if args.classic:
        params["NetworkType"] = "classic"
    if args.all_rules:
        params["IncludeAllRules"] = True
    body = _call(args, "CloneSecurityGroup", params, args.source_region)
    if args.json:
        _print_json(body)
        return 0
    network = body["VpcId"] or "the classic network"
    print(
        f"Created {body['SecurityGroupId']} in {body['RegionId']} ({network}): "
        f"{body['CopiedRuleCount']} rules copied, {body['SkippedRuleCount']} not."
    )
    _print_rules("Not copied", body["SkippedRules"]["SkippedRule"], reasons=True)
    return 0


@_run
def cmd_restore(args: argparse.Namespace) -> int:
    params: Body = {"SecurityGroupId": args.group, "TargetSecurityGroupId": args.target, "Mode": args.mode}
    if args.dry_run:
        params["DryRun"] = True
    body = _call(args, "RestoreSecurityGroupRules", params, args.region)
    if args.json:
        _print_json(body)
        return 0
    _print_rules(f"Add (only in {args.target})", body["RulesToAdd"]["Rule"])
    _print_rules(f"Remove (only in {args.group})", body["RulesToRemove"]["Rule"])
    _print_rules("Cannot be restored", body["UnrestorableRules"]["Rule"], reasons=True)
    if body["DryRun"]:
        print(f"Preview only: run without --dry-run to apply it to {args.group}.")
    else:
        print(f"{args.group}: {body['AddedCount']} rules added, {body['RemovedCount']} removed.")
    return 0


# ---------------------------------------------------------------- output


def _rule_cells(rule: Body) -> list[str]:
    """A rule (DescribeSecurityGroupAttribute's shape, or a file's record) as the table's cells."""
    side = "Source" if rule.get("Direction") == "ingress" else "Dest"
    other = "Dest" if side == "Source" else "Source"
    owner = rule.get(f"{side}GroupOwnerAccount", "")
    group = rule.get(f"{side}GroupId", "")
    peer = (
        rule.get(f"{side}CidrIp")
        or rule.get(f"Ipv6{side}CidrIp")
        or (f"{owner}/{group}" if owner and group else group)
        or rule.get(f"{side}PrefixListId", "")
    )
    local = rule.get(f"{other}CidrIp") or rule.get(f"Ipv6{other}CidrIp")
    ports = rule.get("PortRange", "")
    if rule.get("SourcePortRange"):
        ports = f"{rule['SourcePortRange']} → {ports}"
    return [
        str(rule.get("Direction", "")),
        str(rule.get("Policy", "")),
        str(rule.get("Priority", "")),
        str(rule.get("IpProtocol", "")),
        str(ports),
        f"{peer} ({side.lower()}; {other.lower()} {local})" if local else str(peer),
        _clip(str(rule.get("Description", "")), 40),
    ]


def _print_rules(title: str, views: list[Body], reasons: bool = False) -> None:
    print(f"{title}: {len(views)}")
    if not views:
        return
    columns = (*RULE_COLUMNS, "Reason") if reasons else RULE_COLUMNS
    rows = [[*_rule_cells(v), v.get("Code", "")] if reasons else _rule_cells(v) for v in views]
    print(table(columns, rows, indent="  "))
    if reasons:
        for v in views:
            print(f"    {v['PortRange']} {v['Direction']}: {v['Message']}")


def _clip(text: str, width: int) -> str:
    text = text.replace("\n", " ").replace("\r", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def table(columns: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "") -> str:
    """Columns as wide as their widest cell, a rule under the header."""
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in (list(columns), ["-" * w for w in widths], *rows)
    ]
    return "\n".join(indent + line for line in lines)


@contextmanager
def progress(stream: TextIO, label: str, enabled: bool) -> Iterator[None]:
    """A one-line progress display (spinner and seconds) on ``stream`` while the block runs."""
    if not enabled:
        yield
        return
    stop = threading.Event()
    started = time.monotonic()

    def spin() -> None:
        frames = "|/-\\"
        i = 0
        while not stop.wait(0.1):
            stream.write(f"\r{frames[i % 4]} {label} … {time.monotonic() - started:.1f}s")
            stream.flush()
            i += 1

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        stream.write(f"\r{label}: done in {time.monotonic() - started:.1f}s\n")
        stream.flush()
