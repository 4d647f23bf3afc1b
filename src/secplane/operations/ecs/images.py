"""The catalogue through the API: DescribeImages and DescribeInstanceTypes.

Only Alibaba's public (``system``) images exist here, the same in every region; there are no custom,
shared or marketplace images, so filters asking for those match nothing.
"""

from __future__ import annotations

import msgspec

from secplane.domain.catalog import FAMILIES, Image, InstanceType, find_images, find_instance_types
from secplane.operations.context import Context
from secplane.operations.ecs.common import TagParam, dry_run_passed
from secplane.operations.paging import clamp_max_results, decode_token, encode_token, page_fields, page_window
from secplane.operations.registry import ECS, Body, any_of, operation
from secplane.protocol.errors import invalid_parameter
from secplane.protocol.params import Request

MAX_IMAGE_IDS = 100
MAX_TYPE_IDS = 10
IMAGE_STATUSES = ("Creating", "Waiting", "Available", "UnAvailable", "CreateFailed", "Deprecated")
OWNER_ALIASES = ("system", "self", "others", "marketplace")

# ---------------------------------------------------------------- DescribeImages


class DescribeImagesRequest(Request):
    region_id: str
    image_id: str = ""  # comma-separated, up to 100
    image_name: str = ""
    image_family: str = ""
    image_owner_alias: str = ""
    image_owner_id: int | None = None
    os_type: str = msgspec.field(default="", name="OSType")
    architecture: str = ""
    status: str = ""
    usage: str = ""
    is_public: bool | None = None
    instance_type: str = ""
    snapshot_id: str = ""
    resource_group_id: str = ""
    tag: list[TagParam] = []
    dry_run: bool = False
    page_number: int = 1
    page_size: int = 10


def image_fields(image: Image) -> Body:
    """One image as DescribeImages shows it, every field present."""
    return {
        "ImageId": image.image_id,
        "ImageName": image.name,
        "ImageFamily": image.family,
        "ImageVersion": "",
        "Description": "",
        "OSType": image.os_type,
        "OSName": image.os_name,
        "OSNameEn": image.os_name_en,
        "Platform": image.platform,
        "Architecture": image.architecture,
        "BootMode": image.boot_mode,
        "Size": image.size_gib,
        "Status": "Available",
        "Progress": "100%",
        "Usage": "instance",
        "CreationTime": image.created,
        "ImageOwnerAlias": "system",
        "ImageOwnerId": 0,
        "IsPublic": True,
        "IsSelfShared": "",
        "IsSubscribed": False,
        "IsCopied": False,
        "IsSupportIoOptimized": True,
        "IsSupportCloudinit": not image.is_windows,
        "LoginAsNonRootSupported": not image.is_windows,
        "LicenseType": "Auto",
        "ProductCode": "",
        "SupplierName": "",
        "ResourceGroupId": "",
        "Usable": True,
        "DiskDeviceMappings": {
            "DiskDeviceMapping": [
                {
                    "Device": "/dev/xvda",
                    "Size": str(image.size_gib),
                    "SnapshotId": "",
                    "Type": "system",
                    "Format": "",
                    "ImportOSSBucket": "",
                    "ImportOSSObject": "",
                    "Progress": "100%",
                    "RemainTime": 0,
                    "Encrypted": "false",
                }
            ]
        },
        "Features": {"NvmeSupport": "supported", "ImdsSupport": "v2"},
        "DetectionOptions": {"Status": "", "Items": {"Item": []}},
        "Tags": {"Tag": []},
    }


def _image_ids(text: str) -> list[str] | None:
    items = [part.strip() for part in text.split(",") if part.strip()]
    if len(items) > MAX_IMAGE_IDS:
        raise invalid_parameter("ImageId", f"At most {MAX_IMAGE_IDS} image ids can be given.")
    return items or None


def _matches_nothing(req: DescribeImagesRequest) -> bool:
    """Filters no public image satisfies (other owners, private or non-Available images, tags ...)."""
    statuses = [s.strip() for s in req.status.split(",") if s.strip()]
    return (
        req.image_owner_alias not in ("", "system")
        or req.image_owner_id not in (None, 0)
        or req.is_public is False
        or (bool(statuses) and "Available" not in statuses)
        or req.usage not in ("", "instance", "none")
        or bool(req.snapshot_id)
        or any(t.key for t in req.tag)
    )


def _check_enums(req: DescribeImagesRequest) -> None:
    if req.os_type and req.os_type.lower() not in ("linux", "windows"):
        raise invalid_parameter("OSType", "It must be linux or windows.")
    if req.image_owner_alias and req.image_owner_alias not in OWNER_ALIASES:
        raise invalid_parameter("ImageOwnerAlias", f"It must be one of {', '.join(OWNER_ALIASES)}.")
    for status in (s.strip() for s in req.status.split(",")):
        if status and status not in IMAGE_STATUSES:
            raise invalid_parameter("Status", f"Image statuses are {', '.join(IMAGE_STATUSES)}.")


@operation(ECS, "DescribeImages", DescribeImagesRequest, resources=any_of("image"))
def describe_images(ctx: Context, req: DescribeImagesRequest) -> Body:
    offset, limit = page_window(req.page_number, req.page_size, max_size=100)
    _check_enums(req)
    image_ids = _image_ids(req.image_id)
    if req.dry_run:
        raise dry_run_passed()
    found = (
        []
        if _matches_nothing(req)
        else find_images(
            image_ids=image_ids,
            name=req.image_name,
            os_type=req.os_type,
            architecture=req.architecture,
            family=req.image_family,
        )
    )
    return {
        **page_fields(len(found), req.page_number, req.page_size),
        "RegionId": ctx.region_id,
        "Images": {"Image": [image_fields(image) for image in found[offset : offset + limit]]},
    }


# ---------------------------------------------------------------- DescribeInstanceTypes


class DescribeInstanceTypesRequest(Request):
    instance_types: list[str] = []
    instance_type_family: str = ""
    instance_type_families: list[str] = []
    cpu_architecture: str = ""
    minimum_cpu_core_count: int | None = None
    maximum_cpu_core_count: int | None = None
    minimum_memory_size: float | None = None
    maximum_memory_size: float | None = None
    minimum_eni_quantity: int | None = None
    max_results: int | None = None
    next_token: str = ""


def instance_type_fields(t: InstanceType) -> Body:
    """One instance type as DescribeInstanceTypes shows it."""
    return {
        "InstanceTypeId": t.type_id,
        "InstanceTypeFamily": t.family,
        "InstanceFamilyLevel": t.family_level,
        "InstanceCategory": t.category,
        "CpuCoreCount": t.cpu,
        "MemorySize": t.memory_gib,
        "CpuArchitecture": "X86",
        "PhysicalProcessorModel": t.processor,
        "CpuSpeedFrequency": t.base_ghz,
        "CpuTurboFrequency": t.turbo_ghz,
        "InstanceBandwidthRx": t.bandwidth_kbps,
        "InstanceBandwidthTx": t.bandwidth_kbps,
        "InstancePpsRx": t.pps,
        "InstancePpsTx": t.pps,
        "EniQuantity": t.eni_quantity,
        "EniTotalQuantity": t.eni_quantity,
        "EniPrivateIpAddressQuantity": t.eni_private_ips,
        "EniIpv6AddressQuantity": t.eni_ipv6_addresses,
        "EniTrunkSupported": False,
        "EriQuantity": 0,
        "PrimaryEniQueueNumber": max(1, t.cpu // 2) if t.cpu > 1 else 1,
        "SecondaryEniQueueNumber": max(1, t.cpu // 2) if t.cpu > 1 else 1,
        "TotalEniQueueQuantity": t.eni_quantity * max(1, t.cpu // 2),
        "MaximumQueueNumberPerEni": max(1, t.cpu // 2),
        "QueuePairNumber": 0,
        "GPUAmount": 0,
        "GPUSpec": "",
        "GPUMemorySize": 0.0,
        "LocalStorageAmount": 0,
        "LocalStorageCapacity": 0,
        "LocalStorageCategory": "",
        "DiskQuantity": 17,
        "BaselineCredit": t.baseline_credit,
        "InitialCredit": t.initial_credit,
        "NvmeSupport": "unsupported",
        "NetworkEncryptionSupport": False,
        "JumboFrameSupport": False,
        "NetworkCardQuantity": 1,
        "NetworkCards": {"NetworkCardInfo": [{"NetworkCardIndex": 0}]},
        "SupportedBootModes": {"SupportedBootMode": ["BIOS", "UEFI"]},
        "CpuOptions": {
            "Core": max(1, t.cpu // 2),
            "ThreadsPerCore": 2 if t.cpu > 1 else 1,
            "CoreFactor": 1,
            "HyperThreadingAdjustable": False,
            "NestedVirtualizationSupport": False,
            "SupportedTopologyTypes": {"SupportedTopologyType": []},
        },
        "EnhancedNetwork": {"SriovSupport": False, "RssSupport": False, "VfQueueNumberPerEni": 0},
    }


def _families(req: DescribeInstanceTypesRequest) -> list[str] | None:
    wanted = [*([req.instance_type_family] if req.instance_type_family else []), *req.instance_type_families]
    return wanted or None


@operation(ECS, "DescribeInstanceTypes", DescribeInstanceTypesRequest, region="optional")
def describe_instance_types(ctx: Context, req: DescribeInstanceTypesRequest) -> Body:
    if len(req.instance_types) > MAX_TYPE_IDS:
        raise invalid_parameter("InstanceTypes", f"At most {MAX_TYPE_IDS} instance types can be given.")
    if req.cpu_architecture and req.cpu_architecture not in ("X86", "ARM"):
        raise invalid_parameter("CpuArchitecture", "It must be X86 or ARM.")
    offset = decode_token(req.next_token)
    limit = clamp_max_results(req.max_results, 1, 1600, 250)
    families = _families(req)
    if families and not set(families) <= FAMILIES:
        families = [f for f in families if f in FAMILIES]  # unknown families match nothing
    found = (
        []
        if req.cpu_architecture == "ARM" or families == []
        else find_instance_types(
            type_ids=req.instance_types or None,
            families=families,
            min_cpu=req.minimum_cpu_core_count,
            max_cpu=req.maximum_cpu_core_count,
            min_memory=req.minimum_memory_size,
            max_memory=req.maximum_memory_size,
            min_enis=req.minimum_eni_quantity,
        )
    )
    page = found[offset : offset + limit]
    more = offset + limit < len(found)
    return {
        "NextToken": encode_token(offset + limit) if more else "",
        "InstanceTypes": {"InstanceType": [instance_type_fields(t) for t in page]},
    }
