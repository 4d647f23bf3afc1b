"""The operation registry: what the API offers, keyed by (Version, Action)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from secplane.operations.context import Context
from secplane.protocol.errors import ApiError
from secplane.protocol.params import Request

Req = TypeVar("Req", bound=Request)
Body = dict[str, Any]


_FORBIDDEN_RAM = "User not authorized to operate on the specified resource, or this API doesn't support RAM."
_NO_PERMISSION = "You are not authorized to do this action. You should be authorized by RAM."


@dataclass(frozen=True, slots=True)
class Product:
    name: str  # "Ecs"
    version: str  # "2014-05-26"
    service: str  # RAM service prefix and endpoint label: "ecs"
    denied_code: str = "Forbidden.RAM"  # what a RAM denial is called by this product (always HTTP 403)
    denied_message: str = _FORBIDDEN_RAM


ECS = Product("Ecs", "2014-05-26", "ecs")
VPC = Product("Vpc", "2016-04-28", "vpc")
RAM = Product("Ram", "2015-05-01", "ram", "NoPermission", _NO_PERMISSION)
STS = Product("Sts", "2015-04-01", "sts", "NoPermission", _NO_PERMISSION)
# Our own product, for what Alibaba offers only in its console (rule checks, risk reports, SG tools):
# same wire, signatures, errors and authorization, under a name no Alibaba SDK call can collide with.
SECPLANE = Product("Secplane", "2026-11-28", "secplane")
PRODUCTS: tuple[Product, ...] = (ECS, VPC, RAM, STS, SECPLANE)

# required: RegionId must be given; optional: defaults to the server's region; none: a global service
# (RAM, STS) whose ARNs carry an empty region.
RegionRule = Literal["required", "optional", "none"]


@dataclass(frozen=True, slots=True)
class Operation(Generic[Req]):
    product: Product
    action: str
    request: type[Req]
    handler: Callable[[Context, Req], Body]
    resources: Callable[[Context, Req], list[str]]
    writes: bool
    idempotent: bool
    region: RegionRule
    # Allowed to every authenticated caller without a policy (sts:GetCallerIdentity): it still passes
    # through authorize, which knows to let it by.
    always_allowed: bool = False
    # The action's own condition keys for RAM policies (e.g. ``vpc:CreateDefaultVpc``), from the request.
    conditions: Callable[[Context, Req], dict[str, str]] | None = None

    @property
    def ram_action(self) -> str:
        return f"{self.product.service}:{self.action}"


REGISTRY: dict[tuple[str, str], Operation[Any]] = {}


def all_resources(ctx: Context, req: Any) -> list[str]:
    """Actions that are about no resource at all (DescribeRegions, DescribeInstanceTypes)."""
    return [ctx.arn("*")]


def any_of(kind: str) -> Callable[[Context, Any], list[str]]:
    """Actions on a kind of resource before (or regardless of) any one id: ``<kind>/*``, e.g. Create*
    and the Describe* of a whole kind."""

    def resources(ctx: Context, req: Any) -> list[str]:
        return [ctx.arn(f"{kind}/*")]

    return resources


def operation(
    product: Product,
    action: str,
    request: type[Req],
    *,
    resources: Callable[[Context, Req], list[str]] = all_resources,
    writes: bool = False,
    idempotent: bool = False,
    region: RegionRule = "required",
    always_allowed: bool = False,
    conditions: Callable[[Context, Req], dict[str, str]] | None = None,
) -> Callable[[Callable[[Context, Req], Body]], Callable[[Context, Req], Body]]:
    """Declare ``handler`` as the implementation of ``product``'s ``action``."""

    def register(handler: Callable[[Context, Req], Body]) -> Callable[[Context, Req], Body]:
        key = (product.version, action)
        if key in REGISTRY:
            raise RuntimeError(f"{product.name} {action} is declared twice")
        REGISTRY[key] = Operation(
            product,
            action,
            request,
            handler,
            resources,
            writes,
            idempotent,
            region,
            always_allowed,
            conditions,
        )
        return handler

    return register


_VERSIONS = {p.version for p in PRODUCTS}


def find(version: str, action: str) -> Operation[Any]:
    op = REGISTRY.get((version, action))
    if op is not None:
        return op
    if version not in _VERSIONS:
        raise ApiError("InvalidParameter", 'The specified parameter "Action or Version" is not valid.')
    raise ApiError(
        "InvalidAction.NotFound", "Specified api is not found, please check your url and method.", 404
    )
