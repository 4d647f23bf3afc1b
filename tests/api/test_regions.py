"""DescribeRegions through both official SDK generations, JSON and XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_vpc20160428 import models as vpc_models
from aliyunsdkecs.request.v20140526.DescribeRegionsRequest import DescribeRegionsRequest

from tests.conftest import legacy_call


def test_tea_describe_regions_english(ecs) -> None:
    regions = ecs.describe_regions(
        ecs_models.DescribeRegionsRequest(accept_language="en-US")
    ).body.regions.region
    by_id = {r.region_id: r for r in regions}
    assert by_id["cn-hangzhou"].local_name == "China (Hangzhou)"
    assert by_id["cn-hangzhou"].region_endpoint == "ecs.cn-hangzhou.aliyuncs.com"
    assert {r.status for r in regions} == {"available"}


def test_tea_describe_regions_default_language_is_chinese(ecs) -> None:
    regions = ecs.describe_regions(ecs_models.DescribeRegionsRequest()).body.regions.region
    assert {r.region_id: r.local_name for r in regions}["cn-hangzhou"] == "华东1（杭州）"


def test_vpc_describe_regions_points_at_vpc_endpoints(vpc) -> None:
    regions = vpc.describe_regions(
        vpc_models.DescribeRegionsRequest(accept_language="en-US")
    ).body.regions.region
    assert {r.region_id: r.region_endpoint for r in regions}["cn-shanghai"] == "vpc.cn-shanghai.aliyuncs.com"


def test_legacy_describe_regions_json_and_xml(api) -> None:
    body = json.loads(legacy_call(api, DescribeRegionsRequest()))
    assert body["RequestId"]
    assert "cn-beijing" in [r["RegionId"] for r in body["Regions"]["Region"]]
    root = ET.fromstring(legacy_call(api, DescribeRegionsRequest(), fmt="XML"))
    assert root.tag == "DescribeRegionsResponse"
    assert root.findtext("RequestId") == root.find("RequestId").text  # present
    ids = [e.text for e in root.iterfind("Regions/Region/RegionId")]
    assert "cn-beijing" in ids and len(ids) == len(body["Regions"]["Region"])


def test_a_server_on_request_threads_answers_concurrent_calls() -> None:
    """``serve --threads N`` (the thread-pool path, PostgreSQL's default) on SQLite: 16 at once."""
    from concurrent.futures import ThreadPoolExecutor

    from alibabacloud_ecs20140526.client import Client

    from secplane.testing import server

    with server(extra_args=["--threads", "4"]) as running:
        client = Client(running.tea_config())

        def call(_: int) -> int:
            return len(client.describe_regions(ecs_models.DescribeRegionsRequest()).body.regions.region)

        with ThreadPoolExecutor(16) as pool:
            counts = list(pool.map(call, range(64)))
        assert "requests run on 4 threads" in (running.data_dir / "server.log").read_text()
    assert len(set(counts)) == 1 and counts[0] > 10
