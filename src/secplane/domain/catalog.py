"""The built-in catalogue: public images and instance types under Alibaba Cloud's real ids.

There is no marketplace and no custom image here; every region offers the same images and types. The
figures follow Alibaba's published tables for these types (baseline bandwidth, PPS, ENI quotas);
bandwidth is in kbit/s as ``DescribeInstanceTypes`` returns it (1 Gbit/s = 1,024,000 kbit/s), and the
DDoS thresholds are derived from it.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

LINUX, WINDOWS = "linux", "windows"
GBIT = 1_024_000  # kbit/s


@dataclass(frozen=True, slots=True)
class Image:
    image_id: str
    os_type: str  # linux | windows
    os_name: str  # Chinese, as the API returns OSName
    os_name_en: str
    platform: str
    family: str
    size_gib: int
    created: str  # CreationTime, yyyy-MM-ddTHH:mm:ssZ
    architecture: str = "x86_64"
    boot_mode: str = "BIOS"

    @property
    def name(self) -> str:
        """Public images are named by their id."""
        return self.image_id

    @property
    def is_windows(self) -> bool:
        return self.os_type == WINDOWS


@dataclass(frozen=True, slots=True)
class InstanceType:
    type_id: str
    family: str
    cpu: int
    memory_gib: float
    bandwidth_kbps: int  # baseline intranet bandwidth, each direction
    pps: int  # packets per second, each direction
    eni_quantity: int  # ENIs an instance of this type can have, the primary one included
    eni_private_ips: int
    category: str
    family_level: str = "EnterpriseLevel"
    processor: str = "Intel Xeon(Ice Lake) Platinum 8369B"
    base_ghz: float = 2.7
    turbo_ghz: float = 3.5
    baseline_credit: int = 0
    initial_credit: int = 0

    @property
    def memory_mib(self) -> int:
        return int(self.memory_gib * 1024)

    @property
    def eni_ipv6_addresses(self) -> int:
        return self.eni_private_ips

    @property
    def burstable(self) -> bool:
        return self.baseline_credit > 0


def _linux(image_id: str, os_name: str, os_name_en: str, platform: str, family: str, created: str) -> Image:
    return Image(image_id, LINUX, os_name, os_name_en, platform, family, 20, created)


def _windows(image_id: str, year: str, family: str, created: str) -> Image:
    return Image(
        image_id,
        WINDOWS,
        f"Windows Server  {year} 数据中心版 64位英文版",
        f"Windows Server  {year} Data Center Edition 64bit English Edition",
        f"Windows Server {year}",
        family,
        40,
        created,
    )


IMAGES: tuple[Image, ...] = (
    _linux(
        "ubuntu_22_04_x64_20G_alibase_20230907.vhd", "Ubuntu  22.04 64位", "Ubuntu  22.04 64 bit",
        "Ubuntu", "acs:ubuntu_22_04_x64", "2023-09-07T09:03:19Z",
    ),
    _linux(
        "ubuntu_20_04_x64_20G_alibase_20230907.vhd", "Ubuntu  20.04 64位", "Ubuntu  20.04 64 bit",
        "Ubuntu", "acs:ubuntu_20_04_x64", "2023-09-07T08:41:02Z",
    ),
    _linux(
        "centos_7_9_x64_20G_alibase_20230817.vhd", "CentOS  7.9 64位", "CentOS  7.9 64 bit",
        "CentOS", "acs:centos_7_9_x64", "2023-08-17T06:12:44Z",
    ),
    _linux(
        "aliyun_3_x64_20G_alibase_20230727.vhd", "Alibaba Cloud Linux  3.2104 LTS 64位",
        "Alibaba Cloud Linux  3.2104 LTS 64 bit", "Aliyun", "acs:alibaba_cloud_linux_3_2104_lts_x64",
        "2023-07-27T03:20:11Z",
    ),
    _linux(
        "debian_12_x64_20G_alibase_20230907.vhd", "Debian  12.1 64位", "Debian  12.1 64 bit",
        "Debian", "acs:debian_12_x64", "2023-09-07T07:55:36Z",
    ),
    _windows(
        "win2022_21H2_x64_dtc_en-us_40G_alibase_20230915.vhd", "2022",
        "acs:windows_server_2022_dtc_en-us", "2023-09-15T02:30:05Z",
    ),
    _windows(
        "win2019_1809_x64_dtc_en-us_40G_alibase_20230915.vhd", "2019",
        "acs:windows_server_2019_dtc_en-us", "2023-09-15T02:18:47Z",
    ),
)  # fmt: skip

IMAGES_BY_ID: dict[str, Image] = {image.image_id: image for image in IMAGES}

_CASCADE = "Intel Xeon(Cascade Lake) Platinum 8269CY"
_SKYLAKE = "Intel Xeon(Skylake) Platinum 8163"


def _g6(
    type_id: str, cpu: int, memory: float, category: str, bw: float, pps: int, enis: int, ips: int
) -> InstanceType:
    return InstanceType(
        type_id, type_id.rsplit(".", 1)[0], cpu, memory, int(bw * GBIT), pps, enis, ips, category,
        processor=_CASCADE, base_ghz=2.5, turbo_ghz=3.2,
    )  # fmt: skip


def _g7(
    type_id: str, cpu: int, memory: float, category: str, bw: float, pps: int, enis: int, ips: int
) -> InstanceType:
    return InstanceType(
        type_id, type_id.rsplit(".", 1)[0], cpu, memory, int(bw * GBIT), pps, enis, ips, category
    )


def _t6(type_id: str, memory: float, credit: int) -> InstanceType:
    return InstanceType(
        type_id, "ecs.t6", 2, memory, int(0.1 * GBIT), 60_000, 2, 2, "Shared",
        family_level="CreditEntryLevel", processor=_SKYLAKE, base_ghz=2.5, turbo_ghz=3.1,
        baseline_credit=credit, initial_credit=credit * 3,
    )  # fmt: skip


_GP, _CO, _MO = "General-purpose", "Compute-optimized", "Memory-optimized"

INSTANCE_TYPES: tuple[InstanceType, ...] = (
    _t6("ecs.t6-c1m1.large", 2.0, 20),
    _t6("ecs.t6-c1m2.large", 4.0, 20),
    _t6("ecs.t6-c1m4.large", 8.0, 30),
    _g6("ecs.g6.large", 2, 8.0, _GP, 1.0, 300_000, 2, 6),
    _g6("ecs.g6.xlarge", 4, 16.0, _GP, 1.5, 500_000, 3, 10),
    _g6("ecs.g6.2xlarge", 8, 32.0, _GP, 2.5, 800_000, 4, 10),
    _g6("ecs.c6.large", 2, 4.0, _CO, 1.0, 300_000, 2, 6),
    _g6("ecs.c6.xlarge", 4, 8.0, _CO, 1.5, 500_000, 3, 10),
    _g6("ecs.r6.large", 2, 16.0, _MO, 1.0, 300_000, 2, 6),
    _g7("ecs.g7.large", 2, 8.0, _GP, 2.0, 900_000, 3, 6),
    _g7("ecs.g7.xlarge", 4, 16.0, _GP, 3.0, 1_000_000, 4, 15),
    _g7("ecs.g7.2xlarge", 8, 32.0, _GP, 5.0, 1_600_000, 4, 15),
    _g7("ecs.g7.4xlarge", 16, 64.0, _GP, 8.0, 3_000_000, 8, 30),
    _g7("ecs.c7.large", 2, 4.0, _CO, 2.0, 900_000, 3, 6),
    _g7("ecs.c7.xlarge", 4, 8.0, _CO, 3.0, 1_000_000, 4, 15),
    _g7("ecs.c7.2xlarge", 8, 16.0, _CO, 5.0, 1_600_000, 4, 15),
    _g7("ecs.r7.large", 2, 16.0, _MO, 2.0, 900_000, 3, 6),
    _g7("ecs.r7.xlarge", 4, 32.0, _MO, 3.0, 1_000_000, 4, 15),
)

INSTANCE_TYPES_BY_ID: dict[str, InstanceType] = {t.type_id: t for t in INSTANCE_TYPES}
FAMILIES: frozenset[str] = frozenset(t.family for t in INSTANCE_TYPES)


def find_images(
    *,
    image_ids: Sequence[str] | None = None,
    name: str = "",
    os_type: str = "",
    architecture: str = "",
    platform: str = "",
    family: str = "",
) -> list[Image]:
    """Images matching every given filter, in catalogue order. ``name`` is a fuzzy (substring or
    ``*`` wildcard) match, as DescribeImages does; the other filters are exact (case-insensitive)."""
    wanted = set(image_ids) if image_ids is not None else None
    return [
        image
        for image in IMAGES
        if (wanted is None or image.image_id in wanted)
        and (not name or _fuzzy(name, image.name))
        and (not os_type or image.os_type == os_type.lower())
        and (not architecture or image.architecture == architecture.lower())
        and (not platform or image.platform.lower() == platform.lower())
        and (not family or image.family == family)
    ]


def find_instance_types(
    *,
    type_ids: Iterable[str] | None = None,
    families: Iterable[str] | None = None,
    min_cpu: int | None = None,
    max_cpu: int | None = None,
    min_memory: float | None = None,
    max_memory: float | None = None,
    min_enis: int | None = None,
) -> list[InstanceType]:
    """Instance types matching every given filter, in catalogue order."""
    ids = set(type_ids) if type_ids is not None else None
    fams = set(families) if families is not None else None
    return [
        t
        for t in INSTANCE_TYPES
        if (ids is None or t.type_id in ids)
        and (fams is None or t.family in fams)
        and (min_cpu is None or t.cpu >= min_cpu)
        and (max_cpu is None or t.cpu <= max_cpu)
        and (min_memory is None or t.memory_gib >= min_memory)
        and (max_memory is None or t.memory_gib <= max_memory)
        and (min_enis is None or t.eni_quantity >= min_enis)
    ]


def _fuzzy(pattern: str, value: str) -> bool:
    if "*" in pattern:
        return fnmatch.fnmatchcase(value.lower(), pattern.lower())
    return pattern.lower() in value.lower()
