"""Decision-engine benchmark: the compiled form against the reference linear scan, in one run.

An ENI in 5 security groups x 200 rules (mixed priorities and policies, IPv4 and IPv6 CIDRs from /8 to
single addresses, port ranges, five-tuple source ports, rules naming groups with members, and a
100-entry prefix list), then:

  compile     compile_target() from plain input, cold (addresses parsed every time)
  single      decide() one flow at a time, each call timed: p50 / p99
  batch       decide_many() over 100,000 flows: decisions per second
  reference   tests/engine_reference.py on the first flows of the same set: per decision, and the ratio

Every flow the reference evaluates is also checked against the compiled answer: a disagreement exits 1
(a benchmark of a wrong answer is worthless). Missing a goal does not fail the run.

The reference is imported from tests/ rather than copied: the bench must time the very oracle the
property test trusts, and a copy would drift from it.

    .venv/bin/python bench/engine.py [--quick] [--flows N] [--reference-flows N] [--seed S]
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, for tests/

from secplane.domain.engine import Flow, GroupInput, TargetInput, compile_target
from secplane.domain.sg_rules import Rule
from tests.engine_reference import Reference

GROUPS, RULES_PER_GROUP, LIST_ENTRIES = 5, 200, 100
GOALS = {"single p50 us": 10.0, "speed-up": 50.0, "batch per s": 1_000_000.0, "compile ms": 20.0}
PORTS = [22, 80, 443, 3306, 3389, 5432, 6379, 8080, 8443, 9000, 53, 123, 161, 1024, 30000, 65535]


def _v4(rng: random.Random, prefix: int) -> str:
    value = rng.getrandbits(32) & ~((1 << (32 - prefix)) - 1)
    text = ".".join(str((value >> s) & 255) for s in (24, 16, 8, 0))
    return text if prefix == 32 else f"{text}/{prefix}"


def _v6(rng: random.Random, prefix: int) -> str:
    value = (0x20010DB8 << 96 | rng.getrandbits(96)) & ~((1 << (128 - prefix)) - 1)
    groups = [f"{(value >> s) & 0xFFFF:x}" for s in range(112, -1, -16)]
    text = ":".join(groups)
    return text if prefix == 128 else f"{text}/{prefix}"


def _rule(rng: random.Random, other_groups: list[str]) -> Rule:
    v6 = rng.random() < 0.25
    protocol = rng.choices(["TCP", "UDP", "ICMP", "ALL"], [60, 20, 10, 10])[0]
    if protocol == "ICMP" and v6:
        protocol = "ICMPv6"
    ported = protocol in ("TCP", "UDP")
    low = rng.choice(PORTS)
    high = low if rng.random() < 0.7 else min(65535, low + rng.choice([1, 10, 100, 1000]))
    peer: dict[str, str] = {}
    kind = rng.random()
    if kind < 0.06:
        peer["peer_group_id"] = rng.choice(other_groups)
    elif kind < 0.10 and not v6:
        peer["peer_prefix_list_id"] = "pl-bench"
    elif v6:
        peer["peer_cidr"] = _v6(rng, rng.choice([32, 48, 64, 128]))
    else:
        peer["peer_cidr"] = _v4(rng, rng.choice([0, 8, 12, 16, 20, 24, 28, 32]))
    return Rule(
        direction=rng.choice(["ingress", "egress"]),
        policy=rng.choices(["Accept", "Drop"], [80, 20])[0],
        priority=rng.randint(1, 100),
        ip_protocol=protocol,
        port_range=f"{low}/{high}" if ported else "-1/-1",
        source_port_range="1024/65535" if ported and rng.random() < 0.05 else "",
        nic_type="intranet",
        description="bench",
        **peer,
    )


def build_target(rng: random.Random) -> TargetInput:
    referenced = [f"sg-peer{i}" for i in range(10)]
    groups = [
        GroupInput(
            f"sg-bench{g}",
            "normal",
            "Accept",
            [(f"sgr-{g}-{i}", _rule(rng, referenced)) for i in range(RULES_PER_GROUP)],
        )
        for g in range(GROUPS)
    ]
    members = {gid: [_v4(rng, 32) for _ in range(50)] for gid in referenced}
    members.update({g.group_id: [_v4(rng, 32) for _ in range(20)] for g in groups})
    prefix_list = {"pl-bench": [_v4(rng, rng.choice([16, 20, 24, 28, 32])) for _ in range(LIST_ENTRIES)]}
    return TargetInput(groups, prefix_list, members)


def build_flows(rng: random.Random, target: TargetInput, count: int) -> list[Flow]:
    """Half the peers inside some rule's network (so that rules decide), half anywhere."""
    inside_v4 = [r.peer_cidr.split("/")[0] for g in target.groups for _, r in g.rules if "." in r.peer_cidr]
    inside_v6 = [r.peer_cidr.split("/")[0] for g in target.groups for _, r in g.rules if ":" in r.peer_cidr]
    members = [a for addresses in target.members.values() for a in addresses]
    flows = []
    for _ in range(count):
        v6 = rng.random() < 0.25
        roll = rng.random()
        if v6:
            peer = rng.choice(inside_v6) if roll < 0.5 else _v6(rng, 128)
        else:
            peer = (
                rng.choice(inside_v4) if roll < 0.45 else rng.choice(members) if roll < 0.55 else _v4(rng, 32)
            )
        protocol = rng.choices(["TCP", "UDP", "ICMPv6" if v6 else "ICMP"], [70, 20, 10])[0]
        flows.append(
            Flow(
                direction=rng.choice(["ingress", "egress"]),
                protocol=protocol,
                peer=peer,
                port=rng.choice(PORTS) if rng.random() < 0.8 else rng.randint(1, 65535),
                source_port=rng.choice([0, rng.randint(1024, 65535)]),
            )
        )
    return flows


def _bare_loop(flows: list[Flow]) -> list[int]:
    out = []
    append = out.append
    for flow in flows:
        append(flow.slot)
    return out


def _percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a few seconds)")
    parser.add_argument("--flows", type=int, default=100_000)
    parser.add_argument("--reference-flows", type=int, default=None, help="default 2,000 (500 quick)")
    parser.add_argument("--seed", type=int, default=20261128)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    target = build_target(rng)
    reference_count = args.reference_flows or (500 if args.quick else 2000)

    # compile: cold (addresses parsed each time), repeated, before the benchmark's own 100,000 flows exist
    rounds = 5 if args.quick else 20
    compile_ms = []
    for _ in range(rounds):
        started = time.process_time()
        compiled = compile_target(target)
        compile_ms.append((time.process_time() - started) * 1000)
    compile_ms.sort()
    flows = build_flows(rng, target, args.flows)

    gc.disable()
    try:
        # single decisions, each timed; the timer's own cost measured the same way
        clock = time.perf_counter_ns
        decide = compiled.decide
        sample = flows[: 20_000 if args.quick else 100_000]
        for flow in sample[:2000]:
            decide(flow)  # warm-up
        overhead = []
        for _ in range(len(sample)):
            t0 = clock()
            overhead.append(clock() - t0)
        single = []
        for flow in sample:
            t0 = clock()
            decide(flow)
            single.append(clock() - t0)
        timer_ns = statistics.median(overhead)
        single_us = sorted(max(0.0, (ns - timer_ns) / 1000) for ns in single)

        # batch, and the floor: a bare Python loop over the same flows (what any pure-Python batch pays)
        batches, floors = [], []
        for _ in range(2 if args.quick else 5):
            started = time.process_time()
            outcomes = compiled.decide_many(flows)
            batches.append(time.process_time() - started)
            started = time.process_time()
            _bare_loop(flows)
            floors.append(time.process_time() - started)
        batch_s, floor_s = min(batches), min(floors)

        # reference on the first flows of the same set
        reference = Reference(target)
        started = time.process_time()
        answers = [reference.decide(flow) for flow in flows[:reference_count]]
        reference_us = (time.process_time() - started) / reference_count * 1e6
    finally:
        gc.enable()

    disagreements = 0
    for flow, outcome, answer in zip(flows, outcomes, answers, strict=False):
        got = (
            outcome.verdict,
            str(outcome.reason),
            (outcome.rule.group_id, outcome.rule.rule_id) if outcome.rule else None,
        )
        if got != (answer.verdict, answer.reason, answer.rule):
            disagreements += 1
            if disagreements <= 3:
                print(f"DISAGREEMENT on {flow}: compiled {got}, reference {answer}")
    by_reason: dict[str, int] = {}
    for outcome in outcomes:
        by_reason[outcome.reason] = by_reason.get(outcome.reason, 0) + 1

    compiled_mean_us = batch_s / len(flows) * 1e6
    p50, p99 = _percentile(single_us, 0.5), _percentile(single_us, 0.99)
    per_second = len(flows) / batch_s
    speedup_p50 = reference_us / p50 if p50 else float("inf")
    speedup_batch = reference_us / compiled_mean_us

    print(
        f"engine benchmark: {GROUPS} groups x {RULES_PER_GROUP} rules, {LIST_ENTRIES}-entry prefix list, "
        f"{len(flows):,} flows, Python {sys.version.split()[0]}"
    )
    print(f"outcomes: {', '.join(f'{k} {v:,}' for k, v in sorted(by_reason.items()))}")
    print()
    print(
        f"compile           min {compile_ms[0]:7.2f} ms   median {statistics.median(compile_ms):7.2f} ms"
        f"   ({rounds} rounds)"
    )
    print(
        f"single decide     p50 {p50:7.2f} us   p99 {p99:7.2f} us   (timer overhead {timer_ns / 1000:.2f} us "
        f"subtracted, {len(sample):,} calls)"
    )
    print(
        f"batch             {per_second:12,.0f} decisions/s   ({compiled_mean_us:.2f} us each, best of "
        f"{len(batches)}, CPU time)"
    )
    print(
        f"floor             {len(flows) / floor_s:12,.0f} flows/s       (a bare Python loop over the same "
        f"flows: the batch costs {batch_s / floor_s:.0f}x it)"
    )
    print(f"reference         {reference_us:9.1f} us per decision   ({reference_count:,} of the same flows)")
    print()
    print(f"reference / compiled single p50   {speedup_p50:8.1f}x")
    print(f"reference / compiled batch mean   {speedup_batch:8.1f}x")
    print()
    checks = [
        ("single decision p50 <= 10 us", p50 <= GOALS["single p50 us"], f"{p50:.2f} us"),
        ("compiled >= 50x the reference", speedup_p50 >= GOALS["speed-up"], f"{speedup_p50:.0f}x"),
        ("batch >= 1,000,000 decisions/s", per_second >= GOALS["batch per s"], f"{per_second:,.0f}/s"),
        ("compile <= 20 ms", statistics.median(compile_ms) <= GOALS["compile ms"],
         f"{statistics.median(compile_ms):.1f} ms"),
    ]  # fmt: skip
    for name, met, figure in checks:
        print(f"goal: {name:34} {'MET' if met else 'NOT MET':8} {figure}")
    print(f"agreement with the reference: {reference_count - disagreements:,}/{reference_count:,}")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
