"""VPC (``Vpc`` 2016-04-28): regions, VPCs and vSwitches."""

from __future__ import annotations

from secplane.operations.context import Context
from secplane.operations.ecs.regions import check_language, region_list
from secplane.operations.registry import VPC, Body, operation
from secplane.protocol.params import Request


class DescribeVpcRegionsRequest(Request):
    region_id: str = ""
    accept_language: str = "zh-CN"


@operation(VPC, "DescribeRegions", DescribeVpcRegionsRequest, region="optional")
def describe_regions(ctx: Context, req: DescribeVpcRegionsRequest) -> Body:
    check_language(req.accept_language)
    return region_list(req.accept_language, "vpc")
