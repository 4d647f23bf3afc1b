"""The built-in catalogue: real Alibaba ids, consistent figures, filters."""

from __future__ import annotations

import itertools
import re

import pytest

from secplane.domain.catalog import (
    FAMILIES,
    IMAGES,
    IMAGES_BY_ID,
    INSTANCE_TYPES,
    INSTANCE_TYPES_BY_ID,
    LINUX,
    WINDOWS,
    find_images,
    find_instance_types,
)

REQUIRED_IMAGES = (
    "ubuntu_22_04_x64_20G_alibase_20230907.vhd",
    "centos_7_9_x64_20G_alibase_20230817.vhd",
    "aliyun_3_x64_20G_alibase_20230727.vhd",
    "debian_12_x64_20G_alibase_20230907.vhd",
    "win2022_21H2_x64_dtc_en-us_40G_alibase_20230915.vhd",
    "win2019_1809_x64_dtc_en-us_40G_alibase_20230915.vhd",
)
REQUIRED_TYPES = (
    "ecs.t6-c1m1.large",
    "ecs.g7.large",
    "ecs.g7.xlarge",
    "ecs.g7.2xlarge",
    "ecs.c7.large",
    "ecs.c7.xlarge",
    "ecs.r7.large",
    "ecs.g6.large",
)


def test_required_images_and_types_exist() -> None:
    assert set(REQUIRED_IMAGES) <= IMAGES_BY_ID.keys()
    assert set(REQUIRED_TYPES) <= INSTANCE_TYPES_BY_ID.keys()
    assert len(IMAGES_BY_ID) == len(IMAGES) and len(INSTANCE_TYPES_BY_ID) == len(INSTANCE_TYPES)


@pytest.mark.parametrize("image", IMAGES, ids=lambda i: i.image_id)
def test_image_facts_agree_with_the_id(image) -> None:  # type: ignore[no-untyped-def]
    windows = image.image_id.startswith("win")
    assert image.os_type == (WINDOWS if windows else LINUX)
    assert image.size_gib == (40 if windows else 20)
    assert f"_{image.size_gib}G_" in image.image_id
    date = re.search(r"alibase_(\d{8})", image.image_id)
    assert date and image.created.replace("-", "").startswith(date.group(1))
    assert image.name == image.image_id
    assert image.os_name and image.os_name_en and image.platform


@pytest.mark.parametrize("itype", INSTANCE_TYPES, ids=lambda t: t.type_id)
def test_instance_type_figures_are_consistent(itype) -> None:  # type: ignore[no-untyped-def]
    assert itype.type_id.startswith((itype.family + ".", itype.family + "-"))
    assert itype.cpu >= 1 and itype.memory_gib >= 1
    assert itype.memory_mib == int(itype.memory_gib * 1024)
    assert itype.bandwidth_kbps % 1024 == 0 and itype.bandwidth_kbps >= 100_000
    assert 2 <= itype.eni_quantity <= 8


def test_bigger_sizes_of_a_family_never_get_less() -> None:
    for family in FAMILIES:
        members = sorted((t for t in INSTANCE_TYPES if t.family == family), key=lambda t: t.cpu)
        for smaller, bigger in itertools.pairwise(members):
            assert bigger.memory_gib > smaller.memory_gib or family == "ecs.t6"
            assert bigger.bandwidth_kbps >= smaller.bandwidth_kbps
            assert bigger.eni_quantity >= smaller.eni_quantity


def test_g7_large_figures() -> None:
    g7 = INSTANCE_TYPES_BY_ID["ecs.g7.large"]
    assert (g7.cpu, g7.memory_gib, g7.family, g7.eni_quantity) == (2, 8.0, "ecs.g7", 3)
    assert g7.bandwidth_kbps == 2_048_000


def test_find_images_filters() -> None:
    windows = find_images(os_type="Windows")
    assert {i.image_id for i in windows} == {i for i in REQUIRED_IMAGES if i.startswith("win")}
    assert [i.image_id for i in find_images(name="ubuntu_22")] == [REQUIRED_IMAGES[0]]
    assert [i.image_id for i in find_images(name="*debian*")] == [REQUIRED_IMAGES[3]]
    assert find_images(image_ids=[REQUIRED_IMAGES[1], "m-nothere"])[0].image_id == REQUIRED_IMAGES[1]
    assert find_images(architecture="arm64") == []
    assert len(find_images()) == len(IMAGES)


def test_find_instance_types_filters() -> None:
    g7 = find_instance_types(families=["ecs.g7"])
    assert {t.type_id for t in g7} >= {"ecs.g7.large", "ecs.g7.xlarge", "ecs.g7.2xlarge"}
    assert all(t.family == "ecs.g7" for t in g7)
    two = find_instance_types(type_ids=["ecs.c7.large", "ecs.r7.large", "ecs.nope"])
    assert [t.type_id for t in two] == ["ecs.c7.large", "ecs.r7.large"]
    big = find_instance_types(min_cpu=8, max_memory=32)
    assert big and all(t.cpu >= 8 and t.memory_gib <= 32 for t in big)
    assert all(t.eni_quantity >= 4 for t in find_instance_types(min_enis=4))
