"""Condition operators: the table, value checks at parse time, the request context, compiled tests.

Semantics (AWS's, which Alibaba's documents follow and do not contradict):

* keys are case-insensitive; several values for one key → OR, several keys → AND, several operators
  → AND (the AND is the statement's: every condition must hold);
* a **positive** operator on a key the request does not carry is **false**; a **negated** operator
  (``StringNot*``, ``NumericNotEquals``, ``DateNotEquals``, ``NotIpAddress``) on an absent key is
  **true** — "the source IP is not in 10.0.0.0/8" holds when there is no source IP. A Deny with a
  negated condition therefore bites when the key is missing, which is the safe direction;
* a context key with several values (tags, say): a positive operator holds when **any** value matches
  **any** policy value; a negated one holds when **no** value matches (the negation of the positive);
* a context value of the wrong type for the operator (``"abc"`` under ``NumericEquals``, an IPv6
  address against IPv4 networks) matches nothing: positive false, negated true — never an exception.
  IPv4-mapped IPv6 addresses (``::ffff:10.1.2.3``) count as the IPv4 address.

Numbers compare as exact decimals, dates as instants (ISO-8601; no zone means UTC), strings
case-sensitively except the ``IgnoreCase`` operators (``str.lower``) and ``Bool`` (``true``/``false`` in
any case).
"""

from __future__ import annotations

import ipaddress
import operator
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from secplane.domain.policy.patterns import compile_globs


@dataclass(frozen=True, slots=True)
class Condition:
    """One ``Operator: {Key: values}`` entry; ``values`` are the policy's strings, checked and normalised
    (JSON numbers and booleans written as strings; Bool values lower-cased)."""

    operator: str
    key: str  # as written in the policy
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OperatorSpec:
    kind: str  # string | string_ci | like | numeric | date | bool | ip
    negated: bool
    compare: str  # eq | lt | le | gt | ge


OPERATORS: dict[str, OperatorSpec] = {
    "StringEquals": OperatorSpec("string", False, "eq"),
    "StringNotEquals": OperatorSpec("string", True, "eq"),
    "StringEqualsIgnoreCase": OperatorSpec("string_ci", False, "eq"),
    "StringNotEqualsIgnoreCase": OperatorSpec("string_ci", True, "eq"),
    "StringLike": OperatorSpec("like", False, "eq"),
    "StringNotLike": OperatorSpec("like", True, "eq"),
    "NumericEquals": OperatorSpec("numeric", False, "eq"),
    "NumericNotEquals": OperatorSpec("numeric", True, "eq"),
    "NumericLessThan": OperatorSpec("numeric", False, "lt"),
    "NumericLessThanEquals": OperatorSpec("numeric", False, "le"),
    "NumericGreaterThan": OperatorSpec("numeric", False, "gt"),
    "NumericGreaterThanEquals": OperatorSpec("numeric", False, "ge"),
    "DateEquals": OperatorSpec("date", False, "eq"),
    "DateNotEquals": OperatorSpec("date", True, "eq"),
    "DateLessThan": OperatorSpec("date", False, "lt"),
    "DateLessThanEquals": OperatorSpec("date", False, "le"),
    "DateGreaterThan": OperatorSpec("date", False, "gt"),
    "DateGreaterThanEquals": OperatorSpec("date", False, "ge"),
    "Bool": OperatorSpec("bool", False, "eq"),
    "IpAddress": OperatorSpec("ip", False, "eq"),
    "NotIpAddress": OperatorSpec("ip", True, "eq"),
}

_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH

# ---------------------------------------------------------------- value parsing (policy and context)


def parse_number(text: str) -> Decimal | None:
    """A plain decimal (``12``, ``-3.5``); no exponents, ``inf`` or ``nan``."""
    return Decimal(text) if _NUMBER.fullmatch(text) else None


def parse_date(text: str) -> int | None:
    """ISO-8601 date or date-time as microseconds since the epoch (no zone → UTC); None if not a date."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICROSECOND


def parse_ip(text: str) -> tuple[int, int] | None:
    """(IP version, address as int); IPv4-mapped IPv6 as IPv4; None if not an address."""
    parts = text.split(".")
    if len(parts) == 4:  # the common case, 4x cheaper than ipaddress; anything unusual goes the long way
        value = 0
        for part in parts:
            if not (part.isascii() and part.isdigit()) or len(part) > 3 or (part[0] == "0" and part != "0"):
                break
            octet = int(part)
            if octet > 255:
                break
            value = value << 8 | octet
        else:
            return 4, value
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.version, int(address)


def check_value(operator_name: str, value: str) -> str | None:
    """Why ``value`` is not valid under ``operator_name`` (a phrase for the error), or None."""
    kind = OPERATORS[operator_name].kind
    if kind == "numeric" and parse_number(value) is None:
        return "must be a decimal number such as 12 or 0.5"
    if kind == "date" and parse_date(value) is None:
        return "must be an ISO-8601 date such as 2026-11-28T04:00:00Z"
    if kind == "bool" and value.lower() not in ("true", "false"):
        return 'must be "true" or "false"'
    if kind == "ip":
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            return "must be an IPv4 or IPv6 address or CIDR block such as 10.0.0.0/8"
    return None


# ---------------------------------------------------------------- the request context


class RequestContext(Mapping[str, tuple[str, ...]]):
    """The request's condition keys (case-insensitive) → values, all strings.

    ``RequestContext({"acs:SourceIp": "10.1.2.3", "acs:ResourceTag/env": ["dev", "test"]})``. Cheap to
    build (one dict); typed views (addresses, numbers, dates) are parsed on first use and kept, so the
    policies that test ``acs:SourceIp`` ten times parse it once. A ``bool`` value is accepted for
    convenience and stored as ``"true"``/``"false"``.
    """

    __slots__ = ("_typed", "_values")

    def __init__(self, values: Mapping[str, str | bool | Sequence[str]] | None = None) -> None:
        table: dict[str, tuple[str, ...]] = {}
        if values:
            for key, value in values.items():
                if isinstance(value, str):
                    items: tuple[str, ...] = (value,)
                elif isinstance(value, bool):
                    items = ("true" if value else "false",)
                else:
                    items = tuple(value)
                lower = key.lower()
                table[lower] = table[lower] + items if lower in table else items
        self._values = table
        self._typed: dict[tuple[str, str], tuple[Any, ...]] | None = None

    def __getitem__(self, key: str) -> tuple[str, ...]:
        return self._values[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"RequestContext({self._values!r})"

    def merged(self, extra: Mapping[str, str | bool | Sequence[str]]) -> RequestContext:
        """A new context with ``extra``'s keys added (their values replace same-named ones)."""
        out = RequestContext(extra)
        out._values = {**self._values, **out._values}
        return out

    def typed(self, kind: str, key: str, parse: Callable[[str], Any]) -> tuple[Any, ...] | None:
        """The values of lower-case ``key`` that ``parse`` accepts, parsed; None when the key is absent."""
        cache = self._typed
        if cache is None:
            cache = self._typed = {}
        slot = (kind, key)
        found = cache.get(slot)
        if found is None:
            raw = self._values.get(key)
            if raw is None:
                return None
            parsed = (parse(v) for v in raw)
            found = cache[slot] = tuple(p for p in parsed if p is not None)
        return found


# ---------------------------------------------------------------- compiled tests

Test = Callable[[RequestContext], bool]

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


def _lower(text: str) -> str:
    return text.lower()


def compile_condition(condition: Condition) -> Test:
    """A closure answering this condition for a context, with the policy's values parsed once."""
    spec = OPERATORS[condition.operator]
    key = condition.key.lower()
    absent = spec.negated  # negated operators hold on an absent key, positive ones do not
    found = not spec.negated  # what "some value matches" makes the condition
    kind = spec.kind

    if kind in ("string", "bool", "string_ci"):
        fold = kind != "string"
        wanted = frozenset(v.lower() for v in condition.values) if fold else frozenset(condition.values)
        if fold:

            def folded(ctx: RequestContext) -> bool:
                values = ctx.typed("lower", key, _lower)
                if values is None:
                    return absent
                return found if any(v in wanted for v in values) else not found

            return folded

        def exact(ctx: RequestContext) -> bool:
            values = ctx._values.get(key)
            if values is None:
                return absent
            for value in values:
                if value in wanted:
                    return found
            return not found

        return exact

    if kind == "like":
        match = compile_globs(condition.values).fullmatch

        def like(ctx: RequestContext) -> bool:
            values = ctx._values.get(key)
            if values is None:
                return absent
            for value in values:
                if match(value):
                    return found
            return not found

        return like

    if kind == "ip":
        networks: dict[int, list[tuple[int, int]]] = {}
        for text in condition.values:
            net = ipaddress.ip_network(text, strict=False)
            networks.setdefault(net.version, []).append((int(net.network_address), int(net.netmask)))
        by_version = {version: tuple(nets) for version, nets in networks.items()}

        def ip(ctx: RequestContext) -> bool:
            addresses = ctx.typed("ip", key, parse_ip)
            if addresses is None:
                return absent
            for version, value in addresses:
                for network, mask in by_version.get(version, ()):
                    if value & mask == network:
                        return found
            return not found

        return ip

    # numeric and date: an ordered comparison against the policy's values (any of them)
    parse: Callable[[str], Any] = parse_number if kind == "numeric" else parse_date
    bounds = [parse(v) for v in condition.values]
    compare = spec.compare
    if compare == "eq":
        members = frozenset(bounds)

        def equals(ctx: RequestContext) -> bool:
            values = ctx.typed(kind, key, parse)
            if values is None:
                return absent
            for value in values:
                if value in members:
                    return found
            return not found

        return equals
    # "x < any of P" is "x < max(P)"; "x > any of P" is "x > min(P)"
    bound = max(bounds) if compare in ("lt", "le") else min(bounds)
    test = _COMPARE[compare]

    def ordered(ctx: RequestContext) -> bool:
        values = ctx.typed(kind, key, parse)
        if values is None:
            return absent
        for value in values:
            if test(value, bound):
                return found
        return not found

    return ordered


def all_of(tests: Sequence[Test]) -> Test | None:
    """One test for a statement's conditions (None when there are none): fewer frames than ``all()``."""
    if not tests:
        return None
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        first, second = tests
        return lambda ctx: first(ctx) and second(ctx)
    chain = tuple(tests)

    def every(ctx: RequestContext) -> bool:
        for test in chain:  # noqa: SIM110 (a plain loop: all() over a generator costs a frame per test)
            if not test(ctx):
                return False
        return True

    return every
