"""Security-group rule files (``domain.sg_files``): what export writes reads back as the same rules, the
console's spellings are understood, and a file that cannot be read as a whole is refused with the line.

The round trip runs through the same mapping the API uses: ``render_rule`` (DescribeSecurityGroupAttribute's
``Permission``) to write a rule, ``sg_tools.fields_of`` + ``normalize`` to read one back."""

from __future__ import annotations

import base64
import codecs
import ipaddress
import json
import os
import time
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secplane.domain import sg_files
from secplane.domain.sg_files import CSV, JSON
from secplane.domain.sg_rules import Rule, RuleFields, normalize
from secplane.operations.ecs.sg_rules import render_rule
from secplane.operations.secplane.sg_tools import fields_of
from secplane.protocol.errors import ApiError

HEADER = ",".join(sg_files.CSV_COLUMNS)


def rule_view(rule: Rule, rule_id: str = "") -> dict[str, Any]:
    """A rule as DescribeSecurityGroupAttribute shows it (the API's own rendering of a stored row)."""
    row: Any = SimpleNamespace(id=rule_id, created_at=0.0, **rule._asdict())
    return render_rule(row, {}, {})


def read_back(text: str, fmt: str = "", vpc: bool = True) -> list[Rule]:
    return [
        normalize(e.record["Direction"], fields_of(e.record, e.record["Direction"]), vpc=vpc)
        for e in sg_files.parse(text, fmt).entries
    ]


def error(call: object, *args: object) -> ApiError:
    with pytest.raises(ApiError) as info:
        call(*args)  # type: ignore[operator]
    return info.value


def rule(direction: str = "ingress", **values: str) -> Rule:
    return normalize(direction, RuleFields(**values), vpc=True)


SSH = rule(ip_protocol="TCP", port_range="22/22", peer_cidr="10.0.0.0/8", description="ssh")


# ---------------------------------------------------------------- names and writing


def test_file_names_are_the_consoles() -> None:
    assert sg_files.file_name(JSON, "cn-qingdao", "sg-123", "2020-01-20") == "ecs_cn-qingdao_sg-123.json"
    assert (
        sg_files.file_name(CSV, "cn-qingdao", "sg-123", "2020-01-20")
        == "ecs_sgRule_sg-123_cn-qingdao_2020-01-20.csv"
    )


def test_file_format_is_checked() -> None:
    assert sg_files.file_format(" CSV ") == CSV
    assert error(sg_files.file_format, "xlsx").code == "InvalidFileFormat.ValueNotSupported"


def test_csv_export_has_bom_header_and_crlf() -> None:
    text = sg_files.export_csv([rule_view(SSH)])
    assert text.startswith("\ufeff" + HEADER + "\r\n")
    assert text.count("\r\n") == 2


def test_json_export_is_the_describe_shape() -> None:
    doc = json.loads(sg_files.export_json({"RegionId": "cn-hangzhou"}, [rule_view(SSH)]))
    assert doc["RegionId"] == "cn-hangzhou"
    (permission,) = doc["Permissions"]["Permission"]
    assert permission["SourceCidrIp"] == "10.0.0.0/8" and permission["Priority"] == 1


def test_a_description_a_spreadsheet_would_run_is_defused_and_comes_back() -> None:
    for description in ("=HYPERLINK(1)", "+1", "@x", "'=x", "'plain", "-1"):
        text = sg_files.export_csv([rule_view(rule(**_fields(SSH), description=description))])
        assert f",'{description}," in text or f',"\'{description}",' in text
        assert read_back(text)[0].description == description


def _fields(r: Rule) -> dict[str, str]:
    return {"ip_protocol": r.ip_protocol, "port_range": r.port_range, "peer_cidr": r.peer_cidr}


# ---------------------------------------------------------------- reading: what is accepted


def test_json_shapes() -> None:
    permission = rule_view(SSH)
    for doc in (
        [permission],
        {"Permissions": {"Permission": [permission]}},
        {"permissions": [permission]},
        {"RequestId": "x", "Permissions": {"Permission": [permission]}, "RegionId": "cn-beijing"},
    ):
        assert read_back(json.dumps(doc)) == [SSH]
    assert sg_files.parse(json.dumps({"RegionId": "cn-beijing", "Permissions": []})).region_id == "cn-beijing"


def test_json_keys_in_any_case_and_numbers() -> None:
    text = json.dumps([{"direction": "ingress", "ipProtocol": "tcp", "portRange": "22/22", "priority": 7,
                        "sourceCidrIp": "10.0.0.0/8", "Unknown": [1]}])  # fmt: skip
    (r,) = read_back(text)
    assert (r.priority, r.ip_protocol, r.peer_cidr) == (7, "TCP", "10.0.0.0/8")


def test_utf8_bom_and_utf16_are_read() -> None:
    text = sg_files.export_csv([rule_view(SSH)])
    assert read_back(sg_files.decode(text.encode("utf-8"))) == [SSH]
    assert read_back(sg_files.decode(text.removeprefix("\ufeff").encode("utf-8"))) == [SSH]
    assert read_back(sg_files.decode(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))) == [SSH]


def test_console_headers_in_chinese_with_one_authorization_object_column() -> None:
    text = (
        "方向,授权策略,优先级,协议类型,端口范围,授权对象,描述,创建时间\n"
        "入方向,允许,1,自定义 TCP,22/22,10.0.0.0/8,ssh,2024-01-01 10:00:00\n"
        "出方向,拒绝,5,全部,,::/0,,\n"
        "入方向,允许,1,自定义 TCP,80,sg-bp1abc,,\n"
        "Inbound,Allow,1,Custom UDP,1000-2000,1234567890123456/sg-bp1xyz,,\n"
        "入方向,允许,1,全部 ICMP(IPv4),-1/-1,pl-bp1list,,\n"
    )
    entries = sg_files.parse(text).entries
    records = [e.record for e in entries]
    assert records[0]["SourceCidrIp"] == "10.0.0.0/8" and records[0]["Policy"] == "accept"
    assert records[1]["Direction"] == "egress" and records[1]["Ipv6DestCidrIp"] == "::/0"
    assert (records[1]["IpProtocol"], records[1]["PortRange"], records[1]["Policy"]) == (
        "ALL",
        "-1/-1",
        "drop",
    )
    assert (records[2]["SourceGroupId"], records[2]["PortRange"]) == ("sg-bp1abc", "80/80")
    assert records[3]["SourceGroupOwnerAccount"] == "1234567890123456"
    assert (records[3]["IpProtocol"], records[3]["PortRange"]) == ("UDP", "1000/2000")
    assert (records[4]["IpProtocol"], records[4]["SourcePrefixListId"]) == ("ICMP", "pl-bp1list")
    assert [e.line for e in entries] == [2, 3, 4, 5, 6]


def test_semicolon_separated_and_blank_lines() -> None:
    text = "Direction;IpProtocol;PortRange;SourceCidrIp\n\ningress;TCP;22/22;10.0.0.0/8\n;;;\n"
    assert [(r.port_range, r.peer_cidr) for r in read_back(text)] == [("22/22", "10.0.0.0/8")]


def test_a_rules_own_problem_stays_with_the_rule() -> None:
    entries = sg_files.parse(
        json.dumps(
            [{"Direction": "sideways"}, {"IpProtocol": "TCP"}, 5, {"Direction": "ingress", "Policy": {}}]
        )
    ).entries
    assert [e.problem for e in entries] == [
        "Direction 'sideways' is neither ingress nor egress.",
        "Direction is missing.",
        "The rule is not a JSON object.",
        "The field Policy must be a string or a number.",
    ]


# ---------------------------------------------------------------- reading: what is refused, whole


@pytest.mark.parametrize(
    ("text", "code", "says"),
    [
        ("", "InvalidContent.Empty", "empty"),
        (" \n\t", "InvalidContent.Empty", "empty"),
        (HEADER + "\r\n", "InvalidContent.Empty", "no rules"),
        ("a,b\x00c\n", "InvalidContent.Malformed", "line 1 holds a NUL"),
        ("{not json", "InvalidContent.Malformed", "line 1, column 2"),
        ('{"Rules": []}', "InvalidContent.Malformed", "Permissions"),
        ("[" * 100_000 + "]" * 100_000, "InvalidContent.Malformed", "nested too deeply"),
        ("Direction,IpProtocol,Description\ningress,TCP,x\n", "InvalidContent.MissingColumn", "PortRange"),
        ("Direction,IpProtocol,PortRange\ningress,TCP,22/22\n", "InvalidContent.MissingColumn", "CidrIp"),
        ("Direction,IpProtocol,PortRange,SourceCidrIp,Ports\ni,T,1,x,2\n",
         "InvalidContent.Malformed", "twice"),
        ('Direction,IpProtocol,PortRange,SourceCidrIp\ningress,TCP,"22/22,1.1.1.1\n',
         "InvalidContent.Malformed", "line 2"),
        ('Direction,IpProtocol,PortRange,SourceCidrIp\ningress,TCP,"22"/22,1.1.1.1\n',
         "InvalidContent.Malformed", "line 2"),
        ("Direction,IpProtocol,PortRange,SourceCidrIp\ningress,TCP,22/22,1.1.1.1,x\n",
         "InvalidContent.Malformed", "Line 2 has 5 fields but the header has 4"),
        ("Direction,IpProtocol,PortRange,SourceCidrIp\ningress,TCP,22/22\n",
         "InvalidContent.Malformed", "Line 2 has 3 fields"),
    ],
)  # fmt: skip
def test_malformed_files(text: str, code: str, says: str) -> None:
    err = error(sg_files.parse, text)
    assert (err.code, err.status) == (code, 400)
    assert says in err.message


def test_not_utf8_names_the_byte_and_line() -> None:
    err = error(sg_files.decode, "Direction\ningress,描述\n".encode("gb18030"))
    assert err.code == "InvalidContent.Encoding"
    assert "line 2" in err.message and "UTF-8" in err.message


def test_replacement_characters_in_text_are_refused() -> None:
    assert error(sg_files.check_sent_text, "a\nb\ufffd").message.startswith("Line 2 holds U+FFFD")
    sg_files.check_sent_text("fine")


def test_json_export_escapes_a_real_replacement_character() -> None:
    text = sg_files.export_json({}, [rule_view(rule(**_fields(SSH), description="\ufffd"))])
    sg_files.check_sent_text(text)
    assert read_back(text)[0].description == "\ufffd"


def test_too_many_rules() -> None:
    many = [rule_view(SSH)] * (sg_files.MAX_FILE_RULES + 1)
    for text in (sg_files.export_json({}, many), sg_files.export_csv(many)):
        assert error(sg_files.parse, text).code == "InvalidContent.TooManyRules"


def test_ten_megabytes_of_garbage_are_refused_at_once() -> None:
    junk = os.urandom(10 * 1024 * 1024)
    started = time.perf_counter()
    assert error(sg_files.decode, junk).code == "InvalidContent.TooLarge"
    text = base64.b64encode(junk).decode()
    assert error(sg_files.parse, text).code == "InvalidContent.TooLarge"
    assert time.perf_counter() - started < 5  # refused on its size, not parsed


def test_megabytes_of_text_junk_under_the_limit_are_refused_in_one_pass() -> None:
    junk = base64.b64encode(os.urandom(3 * 1024 * 1024)).decode()  # one 4 MB "line"
    assert error(sg_files.parse, junk[: sg_files.MAX_FILE_BYTES - 10], CSV).code in (
        "InvalidContent.Malformed",
        "InvalidContent.MissingColumn",
    )
    lines = "\n".join(junk[i : i + 80] for i in range(0, 3_000_000, 80))
    assert error(sg_files.parse, lines).code == "InvalidContent.MissingColumn"


# ---------------------------------------------------------------- property: export then import


def _net(family: int) -> st.SearchStrategy[str]:
    bits = 32 if family == 4 else 128
    ints = st.integers(0, 2**bits - 1)
    make = ipaddress.IPv4Network if family == 4 else ipaddress.IPv6Network
    return st.builds(lambda a, p: str(make((a, p), strict=False)), ints, st.integers(0, bits))


_TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=40)


@st.composite
def rules(draw: st.DrawFn) -> tuple[Rule, bool]:
    vpc = draw(st.booleans())
    protocol = draw(st.sampled_from(["TCP", "UDP", "ICMP", "ICMPv6", "GRE", "ALL"]))
    port = source_port = ""
    if protocol in ("TCP", "UDP"):
        low = draw(st.integers(1, 65535))
        port = f"{low}/{draw(st.integers(low, 65535))}"
        if draw(st.booleans()):
            low = draw(st.integers(1, 65535))
            source_port = f"{low}/{draw(st.integers(low, 65535))}"
    else:
        port = "-1/-1"
    family = 6 if protocol == "ICMPv6" else 4 if protocol == "ICMP" else draw(st.sampled_from([4, 6]))
    kind = draw(st.sampled_from(["cidr", "group", "prefix_list"]))
    values: dict[str, str] = {
        "ip_protocol": protocol, "port_range": port, "source_port_range": source_port,
        "policy": draw(st.sampled_from(["accept", "drop"])), "priority": str(draw(st.integers(1, 100))),
        "nic_type": draw(st.sampled_from(["intranet", "internet"])),
        "description": draw(_TEXT.filter(lambda d: not d.startswith(("http://", "https://")))),
    }  # fmt: skip
    v6 = "ipv6_" if family == 6 else ""
    if kind == "cidr":
        values[f"peer_{v6}cidr"] = draw(_net(family))
    elif kind == "group":
        values["peer_group_id"] = "sg-" + draw(st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=8))
        values["peer_group_owner_account"] = draw(st.sampled_from(["", "1234567890123456"]))
        values["nic_type"] = "intranet"
    else:
        values["peer_prefix_list_id"] = "pl-" + draw(st.text("abcdefghij0123456789", min_size=8))
    if draw(st.booleans()):
        values[f"local_{v6}cidr"] = draw(_net(family))
    direction = draw(st.sampled_from(["ingress", "egress"]))
    try:
        return normalize(direction, RuleFields(**values), vpc=vpc), vpc
    except ApiError:  # e.g. the same address on both sides: not a rule a group can hold
        return draw(rules())


@given(st.lists(rules(), max_size=25), st.sampled_from([JSON, CSV]))
def test_export_then_import_is_the_identity_on_content(drawn: list[tuple[Rule, bool]], fmt: str) -> None:
    for vpc in (True, False):
        wanted = [r for r, in_vpc in drawn if in_vpc == vpc]
        views = [rule_view(r, f"sgr-{i}") for i, r in enumerate(wanted)]
        text = sg_files.export_json({}, views) if fmt == JSON else sg_files.export_csv(views)
        if not wanted:
            continue
        back = read_back(text, fmt, vpc=vpc)
        assert [(r.content_key, r.description) for r in back] == [
            (r.content_key, r.description) for r in wanted
        ]
