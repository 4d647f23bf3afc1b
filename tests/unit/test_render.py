"""Response bodies: JSON, lists in their wrappers, by default; XML (``Format=XML``) as the SDKs parse it."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from darabonba.utils.xml import XML as DaraXML
from hypothesis import given
from hypothesis import strategies as st

from secplane.protocol.render import JSON_CONTENT_TYPE, XML_CONTENT_TYPE, render, render_json, render_xml

BODY = {
    "RequestId": "473469C7-AA6F-4DC5-B3DB-A3DC0DE3C83E",
    "TotalCount": 2,
    "SecurityGroups": {
        "SecurityGroup": [
            {
                "SecurityGroupId": "sg-1",
                "Tags": {"Tag": [{"TagKey": "k", "TagValue": "v"}]},
                "ServiceManaged": False,
            },
            {"SecurityGroupId": "sg-2", "Tags": {"Tag": []}, "ServiceManaged": True},
        ]
    },
    "SecurityGroupIds": {"SecurityGroupId": ["sg-1", "sg-2"]},
    "Description": "",
    "Missing": None,
}


def test_json_is_the_default_and_keeps_wrappers_and_types() -> None:
    payload, ctype = render(BODY, None)
    assert ctype == JSON_CONTENT_TYPE == "application/json;charset=utf-8"
    decoded = json.loads(payload)
    assert decoded == BODY
    assert decoded["SecurityGroupIds"] == {"SecurityGroupId": ["sg-1", "sg-2"]}  # a list in its wrapper
    assert decoded["SecurityGroups"]["SecurityGroup"][1]["Tags"] == {"Tag": []}  # empty keeps the wrapper
    assert (
        decoded["TotalCount"] == 2
        and decoded["SecurityGroups"]["SecurityGroup"][0]["ServiceManaged"] is False
    )


def test_json_is_utf8_and_parses_as_tea_does() -> None:
    payload = render_json({"LocalName": "华东1（杭州）", "Q": 'a"b\\c\n'})
    assert json.loads(payload.decode("utf-8")) == {"LocalName": "华东1（杭州）", "Q": 'a"b\\c\n'}


def test_xml_prolog_root_and_content_type() -> None:
    payload, ctype = render(BODY, "DescribeSecurityGroupsResponse")
    assert ctype == XML_CONTENT_TYPE == "text/xml;charset=utf-8"  # the exact string Tea checks
    text = payload.decode("utf-8")
    assert text.startswith("<?xml version='1.0' encoding='UTF-8'?><DescribeSecurityGroupsResponse>")
    assert text.endswith("</DescribeSecurityGroupsResponse>")
    root = ET.fromstring(payload)
    assert root.tag == "DescribeSecurityGroupsResponse"
    assert root.findtext("RequestId") == BODY["RequestId"]
    assert root.findtext("TotalCount") == "2"


def test_xml_lists_are_repeated_elements_inside_the_wrapper() -> None:
    root = ET.fromstring(render_xml("R", BODY))
    assert [e.text for e in root.findall("SecurityGroupIds/SecurityGroupId")] == ["sg-1", "sg-2"]
    groups = root.findall("SecurityGroups/SecurityGroup")
    assert [g.findtext("SecurityGroupId") for g in groups] == ["sg-1", "sg-2"]
    assert [t.findtext("TagKey") for t in groups[0].findall("Tags/Tag")] == ["k"]
    assert groups[1].find("Tags") is not None and list(groups[1].find("Tags")) == []


def test_xml_booleans_are_lower_case() -> None:
    root = ET.fromstring(render_xml("R", BODY))
    assert [g.findtext("ServiceManaged") for g in root.iter("SecurityGroup")] == ["false", "true"]


def test_xml_empty_and_none_are_empty_elements() -> None:
    text = render_xml("R", {"Description": "", "Missing": None, "Zero": 0}).decode()
    assert "<Description/>" in text and "<Missing/>" in text and "<Zero>0</Zero>" in text


def test_xml_error_shape() -> None:
    body = {
        "RequestId": "R-1",
        "HostId": "ecs.aliyuncs.com",
        "Code": "InvalidParameter",
        "Message": 'The specified parameter "A&B<C>" is not valid.',
        "Recommend": "https://api.aliyun.com/troubleshoot?q=InvalidParameter&product=Ecs&requestId=R-1",
    }
    payload, ctype = render(body, "Error")
    assert ctype == "text/xml;charset=utf-8"
    root = ET.fromstring(payload)
    assert root.tag == "Error"
    assert {child.tag: child.text for child in root} == body
    assert "&amp;product=Ecs" in payload.decode()  # escaped on the wire


def test_xml_parses_with_the_tea_xml_reader() -> None:
    parsed = DaraXML.parse_xml(render_xml("Error", {"Code": "X", "Message": "a < b & c"}).decode(), None)
    assert parsed == {"Error": {"Code": "X", "Message": "a < b & c"}}


def test_xml_escapes_markup() -> None:
    text = render_xml("R", {"Name": "<script>&'\"]]>"}).decode()
    assert "<script>" not in text
    assert ET.fromstring(text).findtext("Name") == "<script>&'\"]]>"


def test_xml_nested_list_in_list_keeps_the_name() -> None:
    root = ET.fromstring(render_xml("R", {"Ids": {"Id": [["a", "b"], ["c"]]}}))
    assert [e.text for e in root.findall("Ids/Id")] == ["a", "b", "c"]


# Any text that can travel in a UTF-8 request may end up in a response (names, descriptions).
_xml_safe = st.characters(
    blacklist_categories=("Cs",),
    blacklist_characters="".join(chr(c) for c in range(32) if c not in (9, 10, 13)) + "\ufffe\uffff",
)


@given(st.dictionaries(st.sampled_from(["A", "B", "C"]), st.text(alphabet=_xml_safe, max_size=30)))
def test_xml_round_trips_any_text(body: dict[str, str]) -> None:
    root = ET.fromstring(render_xml("R", body))
    # XML parsers normalise \r\n and lone \r to \n; everything else is preserved
    assert {e.tag: e.text or "" for e in root} == {
        k: v.replace("\r\n", "\n").replace("\r", "\n") for k, v in body.items()
    }


def test_xml_with_control_characters_is_still_well_formed() -> None:
    ET.fromstring(render_xml("R", {"Description": "bell\x07 escape\x1b"}))
