"""Properties of ``domain.sg_rules``: canonical rules are fixed points, identity ignores descriptions and
address spelling, and every refusal is an ``ApiError`` (never a crash that would become a 500)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from secplane.domain.sg_rules import (
    EGRESS,
    INGRESS,
    Rule,
    RuleFields,
    normalize,
    to_fields,
    with_changes,
)
from secplane.protocol.errors import ApiError

directions = st.sampled_from([INGRESS, EGRESS])
ipv4 = st.builds(ipaddress.IPv4Address, st.integers(0, 2**32 - 1))
ipv6 = st.builds(ipaddress.IPv6Address, st.integers(0, 2**128 - 1))


def _mixed_case(text: str) -> st.SearchStrategy[str]:
    return st.sampled_from([text, text.lower(), text.upper(), text.capitalize()])


@st.composite
def port_ranges(draw: st.DrawFn) -> str:
    low = draw(st.integers(1, 65535))
    return f"{low}/{draw(st.integers(low, 65535))}"


@st.composite
def cidrs(draw: st.DrawFn, v6: bool) -> str:
    """An address or a CIDR block (host bits possibly set), spelled as a user might."""
    address = draw(ipv6 if v6 else ipv4)
    if draw(st.booleans()):
        return str(address).upper() if v6 and draw(st.booleans()) else str(address)
    return f"{address}/{draw(st.integers(0, 128 if v6 else 32))}"


@st.composite
def valid_fields(draw: st.DrawFn) -> RuleFields:
    """Fields that ``normalize`` must accept, covering every peer kind and five-tuple rules."""
    protocol = draw(st.sampled_from(["TCP", "UDP", "ICMP", "ICMPv6", "GRE", "ALL"]))
    ported = protocol in ("TCP", "UDP")
    v6 = {"ICMP": False, "ICMPv6": True}.get(protocol, draw(st.booleans()))
    peer_kind = draw(st.sampled_from(["cidr", "group", "prefix_list"]))
    peer: dict[str, str] = {}
    if peer_kind == "cidr":
        peer["peer_ipv6_cidr" if v6 else "peer_cidr"] = draw(cidrs(v6))
    elif peer_kind == "group":
        peer["peer_group_id"] = draw(st.from_regex(r"sg-[a-z0-9]{20}", fullmatch=True))
        peer["peer_group_owner_account"] = draw(st.sampled_from(["", "1234567890123456"]))
    else:
        peer["peer_prefix_list_id"] = draw(st.from_regex(r"pl-[a-z0-9]{20}", fullmatch=True))
    if draw(st.booleans()):
        peer["local_ipv6_cidr" if v6 else "local_cidr"] = draw(cidrs(v6))
    return RuleFields(
        ip_protocol=draw(_mixed_case(protocol)),
        port_range=draw(port_ranges()) if ported else "-1/-1",
        source_port_range=draw(st.one_of(st.just(""), port_ranges())) if ported else "",
        policy=draw(st.sampled_from(["", "accept", "Drop", "ACCEPT"])),
        priority=draw(st.one_of(st.just(""), st.integers(1, 100).map(str))),
        nic_type=draw(
            st.sampled_from(["", "intranet"] if peer_kind == "group" else ["", "intranet", "internet"])
        ),
        description=draw(st.text(max_size=40).filter(lambda t: not t.startswith("http") and "\x00" not in t)),
        **peer,
    )


def _normalized(direction: str, fields: RuleFields, vpc: bool) -> Rule:
    try:
        return normalize(direction, fields, vpc=vpc)
    except ApiError as err:  # the generator cannot rule out a peer equal to the local address
        assume(err.code != "InvalidParamter.Conflict")
        raise


@given(directions, valid_fields(), st.booleans())
def test_normalize_is_a_fixed_point_through_to_fields(direction: str, fields: RuleFields, vpc: bool) -> None:
    rule = _normalized(direction, fields, vpc)
    assert normalize(direction, to_fields(rule), vpc=vpc) == rule


@given(directions, valid_fields(), st.booleans())
def test_canonical_rules_are_canonical(direction: str, fields: RuleFields, vpc: bool) -> None:
    rule = _normalized(direction, fields, vpc)
    assert rule.policy in ("Accept", "Drop")
    assert 1 <= rule.priority <= 100
    assert rule.ip_protocol in ("TCP", "UDP", "ICMP", "ICMPv6", "GRE", "ALL")
    assert rule.nic_type == "intranet" if vpc else rule.nic_type in ("intranet", "internet")
    assert sum(map(bool, (rule.peer_cidr, rule.peer_group_id, rule.peer_prefix_list_id))) == 1
    assert len(rule.content_key) <= 400  # the column's size


@given(directions, valid_fields(), st.text(max_size=60), st.booleans())
def test_content_key_ignores_description(direction: str, fields: RuleFields, text: str, vpc: bool) -> None:
    rule = _normalized(direction, fields, vpc)
    assert rule._replace(description=text).content_key == rule.content_key


@given(directions, st.booleans(), st.data())
def test_bare_address_and_host_prefix_are_the_same_rule(
    direction: str, v6: bool, data: st.DataObject
) -> None:
    address = data.draw(ipv6 if v6 else ipv4)
    host = f"{address}/{128 if v6 else 32}"
    field = "peer_ipv6_cidr" if v6 else "peer_cidr"
    bare = normalize(
        direction, RuleFields(ip_protocol="TCP", port_range="22/22", **{field: str(address)}), vpc=True
    )
    prefixed = normalize(
        direction, RuleFields(ip_protocol="TCP", port_range="22/22", **{field: host}), vpc=True
    )
    assert bare.content_key == prefixed.content_key


@given(directions, valid_fields(), st.booleans())
def test_with_no_changes_is_the_same_rule(direction: str, fields: RuleFields, vpc: bool) -> None:
    rule = _normalized(direction, fields, vpc)
    assert with_changes(rule, RuleFields(), vpc=vpc) == rule


@given(
    directions, valid_fields(), st.text(min_size=1, max_size=60).filter(lambda t: not t.startswith("http"))
)
def test_changing_only_the_description_keeps_the_identity(
    direction: str, fields: RuleFields, text: str
) -> None:
    assume("\x00" not in text)
    rule = _normalized(direction, fields, True)
    changed = with_changes(rule, RuleFields(description=text), vpc=True)
    assert (changed.description, changed.content_key) == (text, rule.content_key)


_field_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["TCP", "icmpv6", "-1/-1", "1/65535", "0/0", "80", "5_0", "+5", "\u0661", "fe80::1%eth0",
                     "10.0.0.0/33", "::/0", "0.0.0.0/0", "sg-x", "internet", "intranet", "drop", "101"]),
)  # fmt: skip


@given(
    directions,
    st.booleans(),
    st.builds(
        RuleFields,
        ip_protocol=_field_text,
        port_range=_field_text,
        policy=_field_text,
        priority=_field_text,
        nic_type=_field_text,
        description=_field_text,
        source_port_range=_field_text,
        peer_cidr=_field_text,
        peer_ipv6_cidr=_field_text,
        peer_group_id=_field_text,
        peer_prefix_list_id=_field_text,
        local_cidr=_field_text,
        local_ipv6_cidr=_field_text,
    ),
)
def test_every_refusal_is_an_api_error(direction: str, vpc: bool, fields: RuleFields) -> None:
    try:
        rule = normalize(direction, fields, vpc=vpc)
    except ApiError as err:
        assert err.code and err.message and 400 <= err.status < 500
        return
    assert rule.content_key  # an accepted rule has a usable identity


@given(directions, valid_fields(), st.builds(RuleFields, port_range=_field_text, peer_cidr=_field_text,
                                              priority=_field_text, local_cidr=_field_text))  # fmt: skip
def test_every_refused_change_is_an_api_error(direction: str, fields: RuleFields, change: RuleFields) -> None:
    rule = _normalized(direction, fields, True)
    try:
        changed = with_changes(rule, change, vpc=True)
    except ApiError as err:
        assert 400 <= err.status < 500
        return
    assert changed.peer_kind == rule.peer_kind  # the kind of authorization object never changes


@pytest.mark.parametrize("text", ["5_0", "+5", "\u0665", " 5 "])
def test_priority_is_a_plain_decimal(text: str) -> None:
    fields = RuleFields(ip_protocol="TCP", port_range="22/22", peer_cidr="10.0.0.0/8", priority=text)
    if text.strip().isascii() and text.strip().isdigit():
        assert normalize(INGRESS, fields, vpc=True).priority == 5
    else:
        with pytest.raises(ApiError) as info:
            normalize(INGRESS, fields, vpc=True)
        assert info.value.code == "InvalidPriority.Malformed"


def test_a_scoped_ipv6_address_is_not_a_peer() -> None:
    fields = RuleFields(ip_protocol="TCP", port_range="22/22", peer_ipv6_cidr="fe80::1%eth0")
    with pytest.raises(ApiError) as info:
        normalize(INGRESS, fields, vpc=True)
    assert info.value.code == "InvalidParam.Ipv6SourceCidrIp"


def test_peer_precedence_cidr_then_group_then_prefix_list() -> None:
    everything = RuleFields(
        ip_protocol="TCP",
        port_range="22/22",
        peer_cidr="10.0.0.0/8",
        peer_group_id="sg-a",
        peer_prefix_list_id="pl-a",
    )
    assert normalize(INGRESS, everything, vpc=True).peer_kind == "cidr"
    assert normalize(INGRESS, everything._replace(peer_cidr=""), vpc=True).peer_kind == "group"
    no_group = everything._replace(peer_cidr="", peer_group_id="")
    assert normalize(INGRESS, no_group, vpc=True).peer_kind == "prefix_list"
