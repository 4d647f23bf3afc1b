"""ECS ``DescribeRegions``."""

from __future__ import annotations

from functools import cache
from typing import Annotated

from msgspec import Meta

from secplane.domain.regions import LANGUAGES, REGIONS
from secplane.operations.context import Context
from secplane.operations.registry import ECS, Body, operation
from secplane.protocol.errors import ApiError
from secplane.protocol.params import Request


class DescribeRegionsRequest(Request):
    region_id: str = ""
    accept_language: str = "zh-CN"
    instance_charge_type: str = "PostPaid"
    resource_type: Annotated[str, Meta(max_length=64)] = "instance"


_RESOURCE_TYPES = ("instance", "disk", "reservedinstance", "scu")


@cache
def region_list(language: str, endpoint: str) -> Body:
    """``Regions.Region[]`` as ECS and VPC both return it (``endpoint`` is ``ecs`` or ``vpc``).

    Computed once per language: the catalogue is static and the body is only ever read."""
    return {
        "Regions": {
            "Region": [
                {
                    "RegionId": r.region_id,
                    "LocalName": r.local_name(language),
                    "RegionEndpoint": f"{endpoint}.{r.region_id}.aliyuncs.com",
                    "Status": "available",
                }
                for r in REGIONS
            ]
        }
    }


def check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ApiError("InvalidAcceptLanguage.NotFound", "The specified AcceptLanguage is not found.", 404)


@operation(ECS, "DescribeRegions", DescribeRegionsRequest, region="optional")
def describe_regions(ctx: Context, req: DescribeRegionsRequest) -> Body:
    check_language(req.accept_language)
    if req.resource_type not in _RESOURCE_TYPES:
        raise ApiError("InvalidResourceType.NotFound", "The specified ResourceType is not found.", 404)
    return region_list(req.accept_language, "ecs")
