"""``CheckCommonPorts`` (Secplane 2026-11-28): is each common service port of an instance or ENI reachable
from the internet and from the private network, and what decides it? SPEC SG-19; the ports are
``domain.risk.COMMON_PORTS`` (SSH 22, RDP 3389, ... SMB 445, each with the protocol it speaks).

"From the internet" is ingress from public IPv4 addresses (``domain.risk.INTERNET_SPACE``), "from the private
network" ingress from private ones (10/8, 172.16/12, 192.168/16, 100.64/10). Rules may treat parts of a
space differently, so each answer has two parts:

- ``Verdict``, ``Reason`` (with ``ReasonEn``/``ReasonZh``) and ``DecidingRule``: what an arbitrary peer of
  the space gets — the engine's outcome over the largest part of it;
- ``Exposure``: ``Full`` (every address of the space is accepted), ``Partial`` (some are: a rule for an
  office range, members of the instance's own groups ...) or ``None``, with ``AcceptingRules``: every rule
  or implicit behaviour that accepts some of the space, the largest share first.

The space is cut wherever a rule, a prefix-list entry or a member address of a referenced group makes a
difference, and the engine decides one peer per piece (``domain.risk.reach``). On the classic network
the internet NIC's rules face the internet; a VPC instance's public traffic meets its intranet rules,
as in CheckNetworkAccess.
"""

from __future__ import annotations

from secplane.domain import engine
from secplane.domain.engine import compile_target
from secplane.domain.engine_text import explain as reason_text
from secplane.domain.risk import COMMON_PORTS, INTERNET_SPACE, PRIVATE_SPACE, Reach, reach
from secplane.operations.context import Context
from secplane.operations.registry import SECPLANE, Body, operation
from secplane.operations.secplane.check import find_target, nic_type_on, rule_body, target_arn
from secplane.protocol.params import Request
from secplane.store import engine_inputs


class CheckCommonPortsRequest(Request):
    region_id: str
    instance_id: str = ""
    network_interface_id: str = ""


def _resources(ctx: Context, req: CheckCommonPortsRequest) -> list[str]:
    return [target_arn(ctx, req.instance_id, req.network_interface_id)]


@operation(SECPLANE, "CheckCommonPorts", CheckCommonPortsRequest, resources=_resources)
def check_common_ports(ctx: Context, req: CheckCommonPortsRequest) -> Body:
    target = find_target(ctx, req.instance_id, req.network_interface_id)
    inputs = engine_inputs.load_input(ctx.conn, target)
    compiled = compile_target(inputs)  # from this transaction's input: the cuts and the verdicts agree
    public_nic = nic_type_on(engine.INTERNET, target)
    public_local = target.public_ip if public_nic == engine.INTERNET else target.private_ip
    networks = (
        ("Internet", public_nic, INTERNET_SPACE[False], public_local),
        ("Intranet", engine.INTRANET, PRIVATE_SPACE[False], target.private_ip),
    )
    ports = []
    for p in COMMON_PORTS:
        entry: Body = {"Service": p.service, "IpProtocol": p.protocol, "Port": p.port}
        for name, nic, space, local in networks:
            entry[name] = _render(reach(compiled, inputs, nic, p.protocol, p.port, space, local))
        ports.append(entry)
    return {
        "InstanceId": target.instance_id,
        "NetworkInterfaceId": target.eni_id,
        "CommonPorts": {"CommonPort": ports},
    }


def _render(r: Reach) -> Body:
    typical = r.typical
    en, zh = reason_text(typical.verdict, typical.reason, typical.rule)
    body: Body = {
        "Verdict": typical.verdict,
        "Reason": str(typical.reason),
        "ReasonEn": en,
        "ReasonZh": zh,
        "Exposure": r.exposure,
    }
    if typical.rule is not None:
        body["DecidingRule"] = rule_body(typical.rule)
    accepting = [
        {"Reason": str(o.reason), **(rule_body(o.rule) if o.rule is not None else {})} for o in r.accepting
    ]
    body["AcceptingRules"] = {"AcceptingRule": accepting}
    return body
