"""Security-group rule files (SPEC SG-16): the JSON and CSV that export writes and import reads.

A rule travels as a *record*: the wire names of DescribeSecurityGroupAttribute's ``Permission`` object
(``Direction``, ``IpProtocol``, ``SourceCidrIp`` ...) mapped to strings. Writing and reading records is
all this module does; what a record means for a group (validation, references, limits) is the
operations' business, through the same code as AuthorizeSecurityGroup.

Reading is liberal in what it accepts and strict about what it cannot: a UTF-8 BOM, UTF-16 with a BOM,
column names in English or Chinese and in any case, the console's ``授权对象`` (authorization object)
column, ``允许``/``allow``, ``入方向``/``inbound``, ports as ``22`` or ``1-100``; but a file that is not
text, not UTF-8, badly quoted, missing a column or larger than ``MAX_FILE_BYTES`` is refused as a whole
with a message naming the line, and nothing is imported from it. Every check is one linear pass, so
megabytes of junk are refused as fast as they are read.

The console's file names are documented (``file_name``); the exact fields of its JSON and columns of
its CSV are not public. Our JSON is DescribeSecurityGroupAttribute's shape and our CSV columns are the
API's field names; the Chinese and English aliases are the console's field labels, so that a file
written by hand from the console's table, or by a console that uses them, reads too.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from secplane.protocol.errors import ApiError

JSON, CSV = "json", "csv"
FORMATS = (JSON, CSV)
MAX_FILE_BYTES = 4 * 1024 * 1024  # 1,000 rules with 512-character descriptions fit with room to spare
MAX_FILE_RULES = 1000  # a group holds 200; more than this is not a rule file

# Our CSV columns, in order: the wire names, so that a column means what the API parameter means.
CSV_COLUMNS = (
    "Direction", "Policy", "Priority", "IpProtocol", "PortRange", "SourcePortRange",
    "SourceCidrIp", "Ipv6SourceCidrIp", "SourceGroupId", "SourceGroupOwnerAccount", "SourcePrefixListId",
    "DestCidrIp", "Ipv6DestCidrIp", "DestGroupId", "DestGroupOwnerAccount", "DestPrefixListId",
    "NicType", "Description", "SecurityGroupRuleId", "CreateTime",
)  # fmt: skip
# What a record may carry besides CSV_COLUMNS (read from files, ignored by the checks that need none).
_OTHER_FIELDS = (
    "SourceGroupOwnerId", "DestGroupOwnerId", "SourceGroupName", "DestGroupName", "SourcePrefixListName",
    "DestPrefixListName", "PortRangeListId", "PortRangeListName",
)  # fmt: skip
AUTHORIZATION_OBJECT = "AuthorizationObject"  # the console's one "授权对象" column, either side
_PEER_FIELDS = ("CidrIp", "GroupId", "PrefixListId")

_ALIASES = {
    "Direction": ("direction", "ruledirection", "方向", "规则方向", "出入方向"),
    "Policy": ("policy", "action", "authorizationpolicy", "授权策略", "策略"),
    "Priority": ("priority", "优先级"),
    "IpProtocol": ("ipprotocol", "protocol", "protocoltype", "协议类型", "协议"),
    "PortRange": ("portrange", "port", "ports", "destinationportrange", "端口范围", "目的端口范围", "端口"),
    "SourcePortRange": ("sourceportrange", "源端口范围"),
    "NicType": ("nictype", "网卡类型"),
    "Description": ("description", "描述"),
    "CreateTime": ("createtime", "creationtime", "创建时间"),
    "SecurityGroupRuleId": ("securitygroupruleid", "ruleid", "规则id"),
    AUTHORIZATION_OBJECT: ("authorizationobject", "authobject", "授权对象"),
}
_HEADER_NAMES: dict[str, str] = {
    **{name.lower(): name for name in (*CSV_COLUMNS, *_OTHER_FIELDS)},
    **{alias: name for name, aliases in _ALIASES.items() for alias in aliases},
}
_DIRECTIONS = {
    "ingress": "ingress", "in": "ingress", "inbound": "ingress", "入方向": "ingress", "入": "ingress",
    "egress": "egress", "out": "egress", "outbound": "egress", "出方向": "egress", "出": "egress",
}  # fmt: skip
_POLICIES = {"allow": "accept", "允许": "accept", "deny": "drop", "拒绝": "drop"}
_PROTOCOLS = {
    "全部": "ALL", "all icmp(ipv4)": "ICMP", "全部 icmp(ipv4)": "ICMP", "all icmp(ipv6)": "ICMPv6",
    "全部 icmp(ipv6)": "ICMPv6", "all gre": "GRE", "全部 gre": "GRE",
}  # fmt: skip
_CUSTOM = re.compile(r"^(?:custom|自定义)\s*", re.IGNORECASE)
_SINGLE_PORT = re.compile(r"^\s*(\d{1,5})\s*$")
_DASH_RANGE = re.compile(r"^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$")
_CROSS_ACCOUNT = re.compile(r"^([^/\s]+)/(sg-[0-9A-Za-z-]+)$")
# A spreadsheet runs a cell that starts with one of these as a formula: exported descriptions that do
# are prefixed with an apostrophe, which import takes off again (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")

Record = dict[str, str]


@dataclass(frozen=True, slots=True)
class Entry:
    """One rule of a file: its position, its record, and what is wrong with it on its own (or "")."""

    index: int  # 1-based position among the file's rules
    line: int  # line of a CSV file where the rule ends; 0 for JSON
    record: Record
    problem: str = ""


@dataclass(frozen=True, slots=True)
class RuleFile:
    entries: list[Entry]
    format: str
    region_id: str = ""  # the region the file says it came from (our JSON export), else ""


# ---------------------------------------------------------------- names


def file_name(fmt: str, region_id: str, group_id: str, day: str) -> str:
    """The console's names: ``ecs_{region}_{sg}.json``, ``ecs_sgRule_{sg}_{region}_{YYYY-MM-DD}.csv``."""
    if fmt == JSON:
        return f"ecs_{region_id}_{group_id}.json"
    return f"ecs_sgRule_{group_id}_{region_id}_{day}.csv"


def file_format(value: str) -> str:
    fmt = value.strip().lower()
    if fmt not in FORMATS:
        raise ApiError(
            "InvalidFileFormat.ValueNotSupported",
            f"The FileFormat {value!r} is not supported: use json or csv.",
        )
    return fmt


# ---------------------------------------------------------------- writing


def export_json(group: Mapping[str, Any], permissions: Iterable[Mapping[str, Any]]) -> str:
    """The group's attributes and its rules, shaped as DescribeSecurityGroupAttribute answers."""
    body = {**group, "Permissions": {"Permission": list(permissions)}}
    # U+FFFD only ever stands inside a string here: escaped, a file sent as text keeps a real one
    return json.dumps(body, ensure_ascii=False, indent=2).replace("\ufffd", "\\ufffd") + "\n"


def export_csv(permissions: Iterable[Mapping[str, Any]]) -> str:
    """One rule a row under ``CSV_COLUMNS``; UTF-8 with a BOM and CRLF, which spreadsheets expect."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for p in permissions:
        row = [str(p.get(name, "")) for name in CSV_COLUMNS]
        description = CSV_COLUMNS.index("Description")
        if row[description].startswith(_FORMULA_START):
            row[description] = "'" + row[description]
        writer.writerow(row)
    return out.getvalue()


# ---------------------------------------------------------------- reading: bytes and text


def decode(data: bytes) -> str:
    """The text of a file given as bytes: UTF-8 (a BOM is dropped) or UTF-16 with its BOM."""
    check_size(len(data))
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise _not_utf8(data, exc, "UTF-16") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _not_utf8(data, exc, "UTF-8") from None


def _not_utf8(data: bytes, exc: UnicodeDecodeError, encoding: str) -> ApiError:
    line = data.count(b"\n", 0, exc.start) + 1
    return ApiError(
        "InvalidContent.Encoding",
        f"The file is not {encoding} text: byte 0x{data[exc.start]:02x} at offset {exc.start} (line {line}) "
        "cannot be decoded. Save the file as UTF-8 (in Excel: CSV UTF-8) and import it again.",
    )


def check_size(size: int) -> None:
    if size > MAX_FILE_BYTES:
        raise ApiError(
            "InvalidContent.TooLarge",
            f"The file has {size:,} bytes; a rule file may have at most {MAX_FILE_BYTES:,} "
            f"(at most {MAX_FILE_RULES:,} rules).",
        )


def _check_text(text: str) -> str:
    """Refuse what is not a text file before any parser sees it: NUL is in every binary format and in
    no text one (one linear scan)."""
    check_size(len(text))
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise ApiError("InvalidContent.Empty", "The file is empty: it holds no rules.")
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise ApiError(
            "InvalidContent.Malformed", f"The file is not a text file: line {line} holds a NUL character."
        )
    return text


def check_sent_text(text: str) -> None:
    """A file sent as text holds U+FFFD where its bytes were not UTF-8 when read or sent: refused rather
    than imported with the damage (send the bytes as ContentBase64 to keep a real U+FFFD)."""
    bad = text.find("\ufffd")
    if bad >= 0:
        line = text.count("\n", 0, bad) + 1
        raise ApiError(
            "InvalidContent.Encoding",
            f"Line {line} holds U+FFFD, the mark of bytes that were not UTF-8 when the file was read or "
            "sent. Save the file as UTF-8, or send its bytes as ContentBase64.",
        )


def parse(text: str, fmt: str = "") -> RuleFile:
    """The rules of a JSON or CSV file (``fmt`` "" = recognised from the content)."""
    text = _check_text(text)
    if not fmt:
        fmt = JSON if text.lstrip()[:1] in ("[", "{") else CSV
    return _parse_json(text) if fmt == JSON else _parse_csv(text)


# ---------------------------------------------------------------- reading: JSON


def _parse_json(text: str) -> RuleFile:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiError(
            "InvalidContent.Malformed",
            f"The file is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.",
        ) from None
    except RecursionError:
        raise ApiError("InvalidContent.Malformed", "The file's JSON is nested too deeply.") from None
    items, region_id = _json_items(doc)
    _check_count(len(items))
    entries = []
    for i, item in enumerate(items, 1):
        if not isinstance(item, dict):
            entries.append(Entry(i, 0, {}, "The rule is not a JSON object."))
            continue
        record, problem = _record((str(k), v) for k, v in item.items())
        entries.append(_entry(i, 0, record, problem))
    return RuleFile(entries, JSON, region_id)


def _json_items(doc: Any) -> tuple[list[Any], str]:
    """The rule list of a bare array, of ``{"Permissions": {"Permission": [...]}}`` (our export and
    DescribeSecurityGroupAttribute's answer) or of ``{"Permissions": [...]}``."""
    if isinstance(doc, list):
        return doc, ""
    if isinstance(doc, dict):
        keys = {str(k).lower(): k for k in doc}
        region = doc.get(keys.get("regionid", ""), "")
        permissions = doc.get(keys["permissions"]) if "permissions" in keys else None
        if isinstance(permissions, dict):
            inner = {str(k).lower(): v for k, v in permissions.items()}
            permissions = inner.get("permission", [])
        if isinstance(permissions, list):
            return permissions, region if isinstance(region, str) else ""
    raise ApiError(
        "InvalidContent.Malformed",
        'The JSON file must be an array of rules, or an object whose "Permissions" holds them '
        '(as {"Permissions": {"Permission": [...]}}).',
    )


def _check_count(count: int) -> None:
    if count > MAX_FILE_RULES:
        raise ApiError(
            "InvalidContent.TooManyRules",
            f"The file holds {count:,} rules; a rule file may hold at most {MAX_FILE_RULES:,} "
            "(a security group holds at most 200).",
        )


def _record(pairs: Iterable[tuple[str, Any]]) -> tuple[Record, str]:
    """Known fields under their wire names, values as strings; unknown fields are left out."""
    record: Record = {}
    for key, value in pairs:
        name = _HEADER_NAMES.get(_header_key(key))
        if name is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float | None):
            return record, f"The field {key} must be a string or a number."
        text = "" if value is None else str(value)
        record[name] = text if name == "Description" else text.strip()
    return record, ""


def _header_key(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name.removeprefix("\ufeff")).lower()


# ---------------------------------------------------------------- reading: CSV


def _parse_csv(text: str) -> RuleFile:
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
        columns = [_HEADER_NAMES.get(_header_key(name)) for name in header]
        _check_columns(header, columns)
        entries: list[Entry] = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise ApiError(
                    "InvalidContent.Malformed",
                    f"Line {reader.line_num} has {len(row)} fields but the header has {len(header)}: "
                    "a value that holds the separator or a quote must be in double quotes.",
                )
            _check_count(len(entries) + 1)
            record, _ = _record((name, cell) for name, cell in zip(header, row, strict=True))
            record["Description"] = _unescape_formula(record.get("Description", ""))
            entries.append(_entry(len(entries) + 1, reader.line_num, record, ""))
    except csv.Error as exc:
        raise ApiError(
            "InvalidContent.Malformed", f"The CSV file is malformed at line {reader.line_num}: {exc}."
        ) from None
    if not entries:
        raise ApiError("InvalidContent.Empty", "The CSV file has a header but no rules.")
    return RuleFile(entries, CSV)


def _check_columns(header: list[str], columns: list[str | None]) -> None:
    known = set(columns)
    missing = [name for name in ("Direction", "IpProtocol", "PortRange") if name not in known]
    has_peer = AUTHORIZATION_OBJECT in known or any(
        f"{v}{side}{field}" in known
        for v in ("", "Ipv6")
        for side in ("Source", "Dest")
        for field in _PEER_FIELDS
    )
    if not has_peer:
        missing.append("SourceCidrIp/DestCidrIp (or another authorization object column)")
    if missing:
        raise ApiError(
            "InvalidContent.MissingColumn",
            f"The CSV header lacks the column(s) {', '.join(missing)}; it has: "
            f"{', '.join(h.strip() for h in header)[:300]}.",
        )
    duplicated = sorted({c for c in columns if c is not None and columns.count(c) > 1})
    if duplicated:
        raise ApiError(
            "InvalidContent.Malformed", f"The CSV header names the column(s) {', '.join(duplicated)} twice."
        )


# ---------------------------------------------------------------- one rule's values


def _entry(index: int, line: int, record: Record, problem: str) -> Entry:
    """The record with the console's spellings turned into the API's, and its own problem if any."""
    if problem:
        return Entry(index, line, record, problem)
    direction = _DIRECTIONS.get(record.get("Direction", "").lower())
    if direction is None:
        given = record.get("Direction", "")
        why = f"Direction {given!r} is neither ingress nor egress." if given else "Direction is missing."
        return Entry(index, line, record, why)
    record["Direction"] = direction
    policy = record.get("Policy", "")
    record["Policy"] = _POLICIES.get(policy.lower(), policy)
    protocol = _CUSTOM.sub("", record.get("IpProtocol", ""))
    record["IpProtocol"] = _PROTOCOLS.get(protocol.lower(), protocol)
    for name in ("PortRange", "SourcePortRange"):
        record[name] = _port_range(record.get(name, ""), record["IpProtocol"], name == "PortRange")
    _place_authorization_object(record, direction)
    return Entry(index, line, record, "")


def _port_range(value: str, protocol: str, destination: bool) -> str:
    """``22`` → ``22/22`` and ``1-100`` → ``1/100``; a blank (or "all") port of a portless protocol is
    ``-1/-1``. Anything else is left for the rule check to judge."""
    single = _SINGLE_PORT.match(value)
    if single:
        return f"{single.group(1)}/{single.group(1)}"
    dashed = _DASH_RANGE.match(value)
    if dashed:
        return f"{dashed.group(1)}/{dashed.group(2)}"
    if destination and value.lower() in ("", "all", "全部") and protocol.upper() not in ("TCP", "UDP", ""):
        return "-1/-1"
    return value


def _unescape_formula(value: str) -> str:
    """Undo ``export_csv``'s apostrophe before a description a spreadsheet would run as a formula."""
    if value.startswith("'") and value[1:].startswith(_FORMULA_START):
        return value[1:]
    return value


def _place_authorization_object(record: Record, direction: str) -> None:
    """The console's single column: an address, ``sg-…``, ``account/sg-…`` or ``pl-…`` on the side the
    direction authorizes, unless the file also names that side explicitly."""
    value = record.pop(AUTHORIZATION_OBJECT, "").strip()
    side = "Source" if direction == "ingress" else "Dest"
    if not value or any(record.get(f"{v}{side}{f}") for v in ("", "Ipv6") for f in _PEER_FIELDS):
        return
    cross = _CROSS_ACCOUNT.match(value)
    if cross:
        record[f"{side}GroupOwnerAccount"], record[f"{side}GroupId"] = cross.group(1), cross.group(2)
    elif value.startswith("sg-"):
        record[f"{side}GroupId"] = value
    elif value.startswith("pl-"):
        record[f"{side}PrefixListId"] = value
    elif ":" in value:
        record[f"Ipv6{side}CidrIp"] = value
    else:
        record[f"{side}CidrIp"] = value
