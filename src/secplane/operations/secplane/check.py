"""``CheckNetworkAccess`` (Secplane 2026-11-28): may this traffic reach an instance or ENI, or leave it,
and which rule (or implicit behaviour) decided? SPEC SG-19; the semantics are the engine's
(``domain.engine``), the compiled forms are cached per ENI (``store.engine_inputs``).

With ``PeerAddress`` the answer is one hop: the target's own side of the flow. With ``PeerInstanceId``
it is the whole path: the sender's egress, then the receiver's ingress, each with its own verdict; the
top-level verdict is Accept only when every hop accepts, and the top-level reason, deciding rule and
matched rules are those of the first hop that drops (or, when all accept, of the target's hop).

The reason is a stable code (``Reason``, e.g. ``Rule``, ``IntraGroupAccept``) plus one sentence in
English (``ReasonEn``) and one in Simplified Chinese (``ReasonZh``): flat strings render the same in JSON
and XML and reach a console in either language without a second call.
"""

from __future__ import annotations

from secplane.domain import engine
from secplane.domain.engine import Explanation, Flow, MatchedRule
from secplane.domain.engine_text import explain as reason_text
from secplane.operations.context import Context
from secplane.operations.registry import SECPLANE, Body, operation
from secplane.protocol.errors import ApiError, invalid_parameter, missing_parameter, not_found
from secplane.protocol.params import Request
from secplane.store import engine_inputs
from secplane.store.engine_inputs import Endpoint

# Compiled forms of this server process, checked against the database's revisions on every use.
CACHE = engine_inputs.EngineCache()


class CheckNetworkAccessRequest(Request):
    region_id: str
    instance_id: str = ""
    network_interface_id: str = ""
    direction: str = ""
    ip_protocol: str = ""
    peer_address: str = ""
    peer_instance_id: str = ""
    port: int | None = None
    source_port: int | None = None
    nic_type: str = ""
    reply_of_accepted: bool = False


def target_arn(ctx: Context, instance_id: str, network_interface_id: str) -> str:
    """The ECS resource a check reads: the instance, or the ENI named without an instance."""
    if network_interface_id and not instance_id:
        return ctx.arn(f"networkinterface/{network_interface_id}", service="ecs")
    return ctx.arn(f"instance/{instance_id or '*'}", service="ecs")


def _resources(ctx: Context, req: CheckNetworkAccessRequest) -> list[str]:
    """The ECS resources the check reads (the action itself is ``secplane:CheckNetworkAccess``)."""
    arns = [target_arn(ctx, req.instance_id, req.network_interface_id)]
    if req.peer_instance_id:
        arns.append(ctx.arn(f"instance/{req.peer_instance_id}", service="ecs"))
    return arns


@operation(SECPLANE, "CheckNetworkAccess", CheckNetworkAccessRequest, resources=_resources)
def check_network_access(ctx: Context, req: CheckNetworkAccessRequest) -> Body:
    direction = _direction(req.direction)
    protocol = _protocol(req.ip_protocol)
    port, source_port = _ports(protocol, req.port, req.source_port)
    target = find_target(ctx, req.instance_id, req.network_interface_id)
    nic_type = nic_type_on(req.nic_type, target)
    if req.peer_address and req.peer_instance_id:
        raise invalid_parameter("PeerAddress", "Give PeerAddress or PeerInstanceId, not both.")
    if req.peer_address:
        peer_address = _peer_address(req.peer_address, protocol)
        hop = _hop(ctx, target, direction, nic_type, protocol, port, source_port, peer_address, None, req)
        return _reply([hop], hop)
    if not req.peer_instance_id:
        raise missing_parameter("PeerAddress")
    peer = _peer(ctx, req.peer_instance_id, target)
    sender, receiver = (target, peer) if direction == engine.EGRESS else (peer, target)
    to_address = _address_on(receiver, nic_type, "PeerInstanceId" if receiver is peer else "InstanceId")
    from_address = _address_on(sender, nic_type, "PeerInstanceId" if sender is peer else "InstanceId")
    _check_family(to_address, protocol)
    common = (nic_type, protocol, port, source_port)
    out = _hop(ctx, sender, engine.EGRESS, *common, to_address, receiver.group_ids, req)
    into = _hop(ctx, receiver, engine.INGRESS, *common, from_address, sender.group_ids, req)
    own = out if sender is target else into
    return _reply([out, into], own)


# ---------------------------------------------------------------- one hop


def _hop(
    ctx: Context, endpoint: Endpoint, direction: str, nic_type: str, protocol: str, port: int,
    source_port: int, peer: str, peer_groups: frozenset[str] | None, req: CheckNetworkAccessRequest,
) -> Body:  # fmt: skip
    """The verdict of ``endpoint``'s groups on its side of the flow, rendered."""
    local = endpoint.public_ip if nic_type == engine.INTERNET else endpoint.private_ip
    flow = Flow(
        direction=direction,
        protocol=protocol,
        peer=peer,
        port=port,
        source_port=source_port,
        nic_type=nic_type,
        local=local if local and (":" in local) == (":" in peer) else "",
        peer_groups=peer_groups,
        reply_of_accepted=req.reply_of_accepted,
    )
    compiled = engine_inputs.compiled_for(ctx.conn, endpoint, CACHE)
    return _render_hop(endpoint, flow, compiled.explain(flow))


def _render_hop(endpoint: Endpoint, flow: Flow, e: Explanation) -> Body:
    en, zh = reason_text(e.verdict, e.reason, e.rule)
    hop: Body = {
        "InstanceId": endpoint.instance_id,
        "NetworkInterfaceId": endpoint.eni_id,
        "Direction": flow.direction,
        "NicType": flow.nic_type,
        "PeerAddress": flow.peer,
        "Verdict": e.verdict,
        "Reason": str(e.reason),
        "ReasonEn": en,
        "ReasonZh": zh,
    }
    if e.rule is not None:
        hop["DecidingRule"] = rule_body(e.rule)
    hop["MatchedRules"] = {"MatchedRule": [rule_body(m) for m in e.matched]}
    return hop


def rule_body(m: MatchedRule) -> Body:
    return {
        "SecurityGroupId": m.group_id,
        "SecurityGroupRuleId": m.rule_id,
        "Priority": m.priority,
        "Policy": m.policy,
        "Description": m.description,
    }


def _reply(hops: list[Body], own: Body) -> Body:
    deciding = next((h for h in hops if h["Verdict"] == engine.DROP), own)
    body: Body = {"Verdict": engine.DROP if deciding["Verdict"] == engine.DROP else engine.ACCEPT}
    for key in ("Reason", "ReasonEn", "ReasonZh", "DecidingRule", "MatchedRules"):
        if key in deciding:
            body[key] = deciding[key]
    body["Hops"] = {"Hop": hops}
    return body


# ---------------------------------------------------------------- parameters


def _direction(value: str) -> str:
    if not value:
        raise missing_parameter("Direction")
    direction = value.strip().lower()
    if direction not in (engine.INGRESS, engine.EGRESS):
        raise invalid_parameter("Direction", "It must be ingress or egress.")
    return direction


def _protocol(value: str) -> str:
    if not value:
        raise missing_parameter("IpProtocol")
    protocol = value.strip().upper()
    if protocol not in engine.PROTOCOLS:
        raise ApiError(
            "InvalidIpProtocol.ValueNotSupported",
            "The parameter IpProtocol must be specified with case insensitive TCP, UDP, ICMP, ICMPv6, GRE "
            "or All.",
        )
    return protocol


def _ports(protocol: str, port: int | None, source_port: int | None) -> tuple[int, int]:
    if protocol not in engine.PORTED:
        for name, value in (("Port", port), ("SourcePort", source_port)):
            if value not in (None, -1):
                raise invalid_parameter(name, f"{protocol} has no ports: omit {name} or give -1.")
        return 0, 0
    if port is None:
        raise missing_parameter("Port")
    if not 1 <= port <= 65535:
        raise invalid_parameter("Port", "It must be between 1 and 65535.")
    if source_port is not None and not 1 <= source_port <= 65535:
        raise invalid_parameter("SourcePort", "It must be between 1 and 65535.")
    return port, source_port or 0


def nic_type_on(value: str, target: Endpoint) -> str:
    nic = (value or engine.INTRANET).strip().lower()
    if nic not in (engine.INTRANET, engine.INTERNET):
        raise ApiError("InvalidNicType.ValueNotSupported", "The specified NicType does not exist.")
    # a VPC instance has no internet NIC: its public traffic meets the intranet rules, as Alibaba's
    # VPC rules are always intranet
    return nic if target.classic else engine.INTRANET


def _peer_address(value: str, protocol: str) -> str:
    try:
        engine.parse_address(value.strip())
    except ValueError:
        raise invalid_parameter("PeerAddress", "It must be one IPv4 or IPv6 address.") from None
    address = value.strip()
    _check_family(address, protocol)
    return address


def _check_family(address: str, protocol: str) -> None:
    v6 = ":" in address
    if protocol == "ICMP" and v6:
        raise ApiError(
            "InvalidParam.Ipv4ProtocolConflictWithIpv6Address",
            "ICMP applies to IPv4; use ICMPv6 for an IPv6 peer.",
        )
    if protocol == "ICMPV6" and not v6:
        raise ApiError(
            "InvalidParam.Ipv6ProtocolConflictWithIpv4Address",
            "ICMPv6 applies to IPv6; use ICMP for an IPv4 peer.",
        )


# ---------------------------------------------------------------- the two ends


def find_target(ctx: Context, instance_id: str, network_interface_id: str) -> Endpoint:
    """The instance's primary ENI, or the ENI named (recorded for the audit trail)."""
    if instance_id and network_interface_id:
        raise invalid_parameter("NetworkInterfaceId", "Give InstanceId or NetworkInterfaceId, not both.")
    if network_interface_id:
        found = engine_inputs.endpoint_of_eni(ctx.conn, ctx.account_id, ctx.region_id, network_interface_id)
        if found is None:
            raise not_found(
                "InvalidEniId.NotFound",
                f"The specified network interface {network_interface_id} does not exist.",
            )
    else:
        if not instance_id:
            raise missing_parameter("InstanceId")
        found = engine_inputs.endpoint_of_instance(ctx.conn, ctx.account_id, ctx.region_id, instance_id)
        if found is None:
            raise not_found("InvalidInstanceId.NotFound", "The specified InstanceId does not exist.")
    ctx.touched.append(found.instance_id or found.eni_id)
    return found


def _peer(ctx: Context, instance_id: str, target: Endpoint) -> Endpoint:
    peer = engine_inputs.endpoint_of_instance(ctx.conn, ctx.account_id, ctx.region_id, instance_id)
    if peer is None:
        raise not_found("InvalidPeerInstanceId.NotFound", "The specified PeerInstanceId does not exist.")
    if peer.eni_id == target.eni_id:
        raise invalid_parameter("PeerInstanceId", "It must be another instance than the one checked.")
    if peer.vpc_id != target.vpc_id:
        raise ApiError(
            "InvalidPeerInstanceId.Mismatch",
            "The peer instance is not on the same network (VPC, or the classic network) as the instance: "
            "check it with PeerAddress instead.",
        )
    return peer


def _address_on(endpoint: Endpoint, nic_type: str, param: str) -> str:
    if nic_type == engine.INTRANET:
        return endpoint.private_ip
    if not endpoint.public_ip:
        raise invalid_parameter(param, "The instance has no public IP address, which NicType internet needs.")
    return endpoint.public_ip
