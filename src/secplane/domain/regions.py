"""The regions and zones this installation offers, under Alibaba Cloud's real ids and names."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Region:
    region_id: str
    name_zh: str
    name_en: str
    zones: tuple[str, ...]

    def local_name(self, language: str) -> str:
        return self.name_zh if language.lower().startswith("zh") else self.name_en


def _region(region_id: str, name_zh: str, name_en: str, zone_letters: str) -> Region:
    return Region(region_id, name_zh, name_en, tuple(f"{region_id}-{z}" for z in zone_letters))


REGIONS: tuple[Region, ...] = (
    _region("cn-qingdao", "华北1（青岛）", "China (Qingdao)", "bc"),
    _region("cn-beijing", "华北2（北京）", "China (Beijing)", "acdefghijkl"),
    _region("cn-zhangjiakou", "华北3（张家口）", "China (Zhangjiakou)", "abc"),
    _region("cn-huhehaote", "华北5（呼和浩特）", "China (Hohhot)", "ab"),
    _region("cn-hangzhou", "华东1（杭州）", "China (Hangzhou)", "bcefghijk"),
    _region("cn-shanghai", "华东2（上海）", "China (Shanghai)", "abefgl"),
    _region("cn-shenzhen", "华南1（深圳）", "China (Shenzhen)", "acdef"),
    _region("cn-guangzhou", "华南3（广州）", "China (Guangzhou)", "ab"),
    _region("cn-chengdu", "西南1（成都）", "China (Chengdu)", "ab"),
    _region("cn-hongkong", "中国香港", "China (Hong Kong)", "bcd"),
    _region("ap-southeast-1", "新加坡", "Singapore", "abc"),
    _region("ap-northeast-1", "日本（东京）", "Japan (Tokyo)", "abc"),
    _region("us-west-1", "美国（硅谷）", "US (Silicon Valley)", "ab"),
    _region("us-east-1", "美国（弗吉尼亚）", "US (Virginia)", "ab"),
    _region("eu-central-1", "德国（法兰克福）", "Germany (Frankfurt)", "abc"),
)

REGIONS_BY_ID: dict[str, Region] = {r.region_id: r for r in REGIONS}
DEFAULT_REGION = "cn-hangzhou"
LANGUAGES = ("zh-CN", "en-US", "ja", "zh-TW", "fr", "de", "ko")
