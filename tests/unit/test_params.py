"""Flat RPC parameters to typed requests: ``nest`` rebuilds the tree, ``bind`` types it, naming culprits."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from alibabacloud_tea_openapi.utils import Utils as TeaUtils
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec import Meta

from secplane.protocol.errors import ApiError
from secplane.protocol.params import Request, bind, nest


class Permission(Request):
    ip_protocol: str
    priority: int = 1
    port_range: str = "-1/-1"
    source_cidr_ips: list[str] = []


class CpuOptions(Request):
    core: int = 0
    threads_per_core: int = 1


class SampleRequest(Request):
    """Every shape a real ECS request uses: scalars, bool, int, lists, lists of structs, a struct."""

    region_id: str
    dry_run: bool = False
    page_size: Annotated[int, Meta(ge=1, le=50)] = 10
    security_group_ids: list[str] = []  # JSON array in a string, or .N
    instance_ids: list[str] = []
    permissions: list[Permission] = []
    cpu_options: CpuOptions | None = None
    description: str = ""


def _error(params: dict[str, str], request_type: type = SampleRequest) -> ApiError:
    with pytest.raises(ApiError) as exc:
        bind(params, request_type)
    return exc.value


# ---------------------------------------------------------------- nest


def test_nest_scalars_are_kept_as_strings() -> None:
    assert nest({"RegionId": "cn-hangzhou", "PageSize": "10"}) == {
        "RegionId": "cn-hangzhou",
        "PageSize": "10",
    }


def test_nest_list_of_scalars() -> None:
    assert nest({"SecurityGroupIds.2": "sg-b", "SecurityGroupIds.1": "sg-a"}) == {
        "SecurityGroupIds": ["sg-a", "sg-b"]
    }


def test_nest_orders_by_integer_index_not_text() -> None:
    params = {f"Tag.{i}.Key": f"k{i}" for i in (10, 2, 1, 11)}
    assert [t["Key"] for t in nest(params)["Tag"]] == ["k1", "k2", "k10", "k11"]


def test_nest_list_of_objects() -> None:
    tree = nest(
        {
            "Permissions.1.IpProtocol": "tcp",
            "Permissions.1.PortRange": "22/22",
            "Permissions.2.IpProtocol": "udp",
        }
    )
    assert tree == {"Permissions": [{"IpProtocol": "tcp", "PortRange": "22/22"}, {"IpProtocol": "udp"}]}


def test_nest_list_inside_a_list_element() -> None:
    tree = nest(
        {
            "NetworkInterface.1.SecurityGroupIds.2": "sg-2",
            "NetworkInterface.1.SecurityGroupIds.1": "sg-1",
            "NetworkInterface.2.SecurityGroupIds.1": "sg-3",
        }
    )
    assert tree == {
        "NetworkInterface": [{"SecurityGroupIds": ["sg-1", "sg-2"]}, {"SecurityGroupIds": ["sg-3"]}]
    }


def test_nest_struct() -> None:
    assert nest({"CpuOptions.Core": "2", "CpuOptions.ThreadsPerCore": "1"}) == {
        "CpuOptions": {"Core": "2", "ThreadsPerCore": "1"}
    }


def test_nest_closes_gaps_in_indexes() -> None:
    assert nest({"A.7": "z", "A.1": "x", "A.3": "y"}) == {"A": ["x", "y", "z"]}
    assert nest({"P.5.Name": "b", "P.2.Name": "a"}) == {"P": [{"Name": "a"}, {"Name": "b"}]}


@pytest.mark.parametrize("index", ["0", "1001", "99999999999999999999"])
def test_nest_refuses_indexes_out_of_range(index: str) -> None:
    with pytest.raises(ApiError) as exc:
        nest({"A.1": "x", f"A.{index}": "y"})
    assert exc.value.code == "InvalidParameter"
    assert f'"A.{index}"' in exc.value.message


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"A": "x", "A.1": "y"}, "A"),
        ({"A.1": "y", "A": "x"}, "A"),
        ({"A.1": "x", "A.1.B": "y"}, "A.1"),
        ({"A.1.B": "y", "A.1": "x"}, "A.1"),
        ({"A.B": "x", "A.B.C": "y"}, "A.B"),
    ],
)
def test_nest_refuses_a_value_that_is_also_a_list(params: dict[str, str], named: str) -> None:
    with pytest.raises(ApiError) as exc:
        nest(params)
    assert exc.value.code == "InvalidParameter"
    assert f'"{named}"' in exc.value.message


# Flatten the way the Tea SDK does (its own Utils.query) and check nest() rebuilds the structure.

_names = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
# NUL is refused (tested below), so the round-trip trees never hold it
_values = st.text(alphabet=st.characters(blacklist_characters="\x00"), max_size=20)
_trees = st.recursive(
    _values,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=4),
        st.dictionaries(_names, children, min_size=1, max_size=4),
    ),
    max_leaves=25,
)


@given(st.dictionaries(_names, _trees, min_size=1, max_size=5))
@settings(max_examples=300)
def test_nest_inverts_the_tea_sdk_flattening(tree: dict[str, Any]) -> None:
    flat = TeaUtils.query(tree)
    assert all(isinstance(v, str) for v in flat.values())
    assert nest(flat) == tree


@given(st.dictionaries(_names, _trees, min_size=1, max_size=5))
@settings(max_examples=100)
def test_nest_inverts_the_legacy_sdk_flattening(tree: dict[str, Any]) -> None:
    """The legacy request classes flatten repeat lists the same way (``Name.N.Field``)."""
    from aliyunsdkcore.request import RpcRequest

    request = RpcRequest("Ecs", "2014-05-26", "Any")
    flat: dict[str, str] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        elif isinstance(node, list):
            for i, v in enumerate(node, 1):
                walk(f"{prefix}.{i}", v)
        else:
            request.add_query_param(prefix, node)

    walk("", tree)
    flat = request.get_query_params()
    assert nest(flat) == tree


# ---------------------------------------------------------------- bind: types


def test_bind_typed_request() -> None:
    req = bind(
        {
            "RegionId": "cn-hangzhou",
            "DryRun": "True",
            "PageSize": "20",
            "Permissions.1.IpProtocol": "tcp",
            "Permissions.1.Priority": "5",
            "Permissions.1.SourceCidrIps.1": "10.0.0.0/8",
            "Permissions.2.IpProtocol": "icmp",
            "CpuOptions.Core": "4",
        },
        SampleRequest,
    )
    assert req.region_id == "cn-hangzhou"
    assert req.dry_run is True
    assert req.page_size == 20
    assert req.permissions == [
        Permission(ip_protocol="tcp", priority=5, source_cidr_ips=["10.0.0.0/8"]),
        Permission(ip_protocol="icmp"),
    ]
    assert req.cpu_options == CpuOptions(core=4)
    assert req.security_group_ids == [] and req.description == ""


@pytest.mark.parametrize(
    ("wire", "value"),
    [("True", True), ("False", False), ("true", True), ("false", False), ("TRUE", True), ("FALSE", False)],
)
def test_bind_booleans_python_sdk_and_other_sdk_spellings(wire: str, value: bool) -> None:
    assert bind({"RegionId": "r", "DryRun": wire}, SampleRequest).dry_run is value


@pytest.mark.parametrize("wire", ["yes", "no", "maybe", "", "2"])
def test_bind_refuses_other_booleans(wire: str) -> None:
    err = _error({"RegionId": "r", "DryRun": wire})
    assert (err.code, err.status) == ("InvalidParameter", 400)
    assert '"DryRun"' in err.message


@pytest.mark.parametrize(("wire", "value"), [("1", 1), ("50", 50), ("10", 10)])
def test_bind_ints_from_strings(wire: str, value: int) -> None:
    assert bind({"RegionId": "r", "PageSize": wire}, SampleRequest).page_size == value


@pytest.mark.parametrize("wire", ["abc", "", "0x10", "1 0", "0", "51", "-1"])
def test_bind_refuses_bad_ints_naming_the_parameter(wire: str) -> None:
    err = _error({"RegionId": "r", "PageSize": wire})
    assert err.code == "InvalidParameter"
    assert err.message.startswith('The specified parameter "PageSize" is not valid.')


def test_bind_json_array_in_a_string() -> None:
    req = bind({"RegionId": "r", "SecurityGroupIds": '["sg-a", "sg-b"]'}, SampleRequest)
    assert req.security_group_ids == ["sg-a", "sg-b"]


def test_bind_comma_list_in_a_string() -> None:
    req = bind({"RegionId": "r", "InstanceIds": "i-1, i-2,,i-3 "}, SampleRequest)
    assert req.instance_ids == ["i-1", "i-2", "i-3"]
    assert bind({"RegionId": "r", "InstanceIds": "i-1"}, SampleRequest).instance_ids == ["i-1"]
    assert bind({"RegionId": "r", "InstanceIds": "  "}, SampleRequest).instance_ids == []
    assert bind({"RegionId": "r", "InstanceIds": "[]"}, SampleRequest).instance_ids == []


def test_bind_repeat_list_for_a_list_field() -> None:
    req = bind({"RegionId": "r", "SecurityGroupIds.2": "sg-b", "SecurityGroupIds.1": "sg-a"}, SampleRequest)
    assert req.security_group_ids == ["sg-a", "sg-b"]


def test_bind_list_string_inside_list_elements() -> None:
    req = bind(
        {"RegionId": "r", "Permissions.1.IpProtocol": "tcp", "Permissions.1.SourceCidrIps": '["1.1.1.1/32"]'},
        SampleRequest,
    )
    assert req.permissions[0].source_cidr_ips == ["1.1.1.1/32"]


@pytest.mark.parametrize("text", ['["unterminated', "[1, 2", '["a"]]'])
def test_bind_refuses_malformed_json_arrays(text: str) -> None:
    err = _error({"RegionId": "r", "SecurityGroupIds": text})
    assert err.code == "InvalidParameter" and '"SecurityGroupIds"' in err.message


def test_bind_ignores_parameters_it_does_not_know() -> None:
    req = bind(
        {"RegionId": "r", "OwnerId": "123", "ResourceOwnerAccount": "x", "Foo.1.Bar": "y"}, SampleRequest
    )
    assert req.region_id == "r"


# ---------------------------------------------------------------- bind: errors name the wire parameter


def test_missing_top_level_parameter() -> None:
    err = _error({})
    assert (err.code, err.status) == ("MissingParameter", 400)
    assert err.message == (
        'The input parameter "RegionId" that is mandatory for processing this request is not supplied.'
    )


def test_missing_field_of_a_list_element_names_the_wire_parameter() -> None:
    err = _error({"RegionId": "r", "Permissions.1.IpProtocol": "tcp", "Permissions.2.Priority": "1"})
    assert err.code == "MissingParameter"
    assert '"Permissions.2.IpProtocol"' in err.message


def test_invalid_field_of_a_list_element_names_the_wire_parameter() -> None:
    err = _error(
        {
            "RegionId": "r",
            "Permissions.1.IpProtocol": "tcp",
            "Permissions.2.IpProtocol": "tcp",
            "Permissions.2.Priority": "high",
        }
    )
    assert err.code == "InvalidParameter"
    assert err.message.startswith('The specified parameter "Permissions.2.Priority" is not valid.')


def test_invalid_field_of_a_struct_names_the_wire_parameter() -> None:
    err = _error({"RegionId": "r", "CpuOptions.Core": "many"})
    assert err.message.startswith('The specified parameter "CpuOptions.Core" is not valid.')


def test_scalar_given_as_a_list_is_invalid() -> None:
    err = _error({"RegionId": "r", "Description.1": "x"})
    assert err.code == "InvalidParameter" and '"Description"' in err.message


def test_conflicting_value_and_list_is_invalid() -> None:
    err = _error({"RegionId": "r", "SecurityGroupIds": "sg-a", "SecurityGroupIds.1": "sg-b"})
    assert err.code == "InvalidParameter" and '"SecurityGroupIds"' in err.message


def test_error_after_an_index_gap_names_the_parameter_as_sent() -> None:
    err = _error(
        {
            "RegionId": "r",
            "Permissions.1.IpProtocol": "tcp",
            "Permissions.3.IpProtocol": "tcp",
            "Permissions.3.Priority": "high",
        }
    )
    assert '"Permissions.3.Priority"' in err.message


# ---------------------------------------------------------------- bind never fails with anything but ApiError

# Keys mostly from the characters real parameter names use (so that they collide and nest), sometimes any
# text; values anything. Inputs too rare for the search (non-ASCII digits as an index, hundreds of nesting
# levels, a deeply nested JSON array) have their own regression tests below: each was once a 500.
_keys = st.one_of(
    st.text(alphabet="ABCIPRSabcdeginorstu0123456789.", max_size=30),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30),
)
_known = st.sampled_from(
    [
        "RegionId",
        "DryRun",
        "PageSize",
        "SecurityGroupIds",
        "SecurityGroupIds.1",
        "InstanceIds",
        "Permissions.1.IpProtocol",
        "Permissions.1.Priority",
        "Permissions.2.SourceCidrIps",
        "Permissions.1.SourceCidrIps.1",
        "CpuOptions.Core",
        "CpuOptions",
        "Description",
    ]
)
_any_values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["True", "false", "1", "-1", "[]", '["a"]', "[1,", "[null]", "1e999", "", ".", "a,b"]),
)


@given(st.dictionaries(st.one_of(_known, _keys), _any_values, max_size=8))
@settings(max_examples=500)
def test_bind_raises_only_api_errors(params: dict[str, str]) -> None:
    try:
        req = bind(params, SampleRequest)
    except ApiError as err:
        assert err.status == 400
        assert err.code in {"MissingParameter", "InvalidParameter"}
        assert err.message
    else:
        assert isinstance(req, SampleRequest)


@pytest.mark.parametrize("index", ["²", "①"])
def test_non_ascii_digit_index_is_invalid_parameter(index: str) -> None:
    with pytest.raises(ApiError):
        bind({"RegionId": "r", f"SecurityGroupIds.{index}": "x"}, SampleRequest)


@pytest.mark.parametrize("segment", [".1", ".a"])
def test_absurdly_deep_key_is_invalid_parameter(segment: str) -> None:
    with pytest.raises(ApiError):
        bind({"RegionId": "r", "Foo" + segment * 1200: "x"}, SampleRequest)


def test_deeply_nested_json_array_is_invalid_parameter() -> None:
    with pytest.raises(ApiError):
        bind({"RegionId": "r", "SecurityGroupIds": "[" * 100_000}, SampleRequest)


def test_nul_characters_are_refused_naming_the_parameter() -> None:
    """PostgreSQL cannot store NUL; it must be a clean 400 for any parameter, not a 500 in one store."""
    with pytest.raises(ApiError) as err:
        nest({"Tag.1.Value": "a\x00b"})
    assert err.value.code == "InvalidParameter" and "Tag.1.Value" in err.value.message
