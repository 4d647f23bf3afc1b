"""Resource ids: Alibaba's shapes, and characters drawn uniformly (they come from the CSPRNG in bulk)."""

from __future__ import annotations

import re
import time
from collections import Counter

from secplane.domain import ids


def test_shapes() -> None:
    assert re.fullmatch(r"sg-bp[0-9a-z]{18}", ids.resource_id("sg", "cn-hangzhou"))
    assert re.fullmatch(r"i-[0-9a-z]{20}", ids.resource_id("i"))
    assert re.fullmatch(r"LTAI5t[0-9A-Za-z]{18}", ids.access_key_id())
    assert re.fullmatch(r"[0-9A-Za-z]{30}", ids.access_key_secret())
    assert re.fullmatch(r"rg-acfm[0-9a-z]{15}", ids.resource_group_id())


def test_every_character_equally_likely() -> None:
    for alphabet in (ids._ALNUM_LOWER, ids._ALNUM):
        counts = Counter("".join(ids._random(50, alphabet) for _ in range(4000)))
        expected = 200_000 / len(alphabet)
        assert set(counts) == set(alphabet)
        # chi-square over len-1 degrees of freedom; 130 is far beyond p = 1e-6 for 61 of them
        chi2 = sum((n - expected) ** 2 / expected for n in counts.values())
        assert chi2 < 130, chi2


def test_no_repeats() -> None:
    drawn = [ids.resource_id("sg", "cn-hangzhou") for _ in range(10_000)]
    assert len(set(drawn)) == len(drawn)


def test_ids_made_later_sort_after() -> None:
    """The time part leads, so a table's primary-key index grows at its end."""
    earlier = [ids.resource_id("sgr", "cn-hangzhou") for _ in range(3)]
    time.sleep(0.002)
    later = ids.resource_id("sgr", "cn-hangzhou")
    assert all(e < later for e in earlier)
    assert sorted([later, *earlier])[-1] == later


def test_a_batch_of_ids_shares_the_shape_and_never_repeats() -> None:
    """``resource_ids`` draws the random parts of a batch (a 50-rule Authorize) at once."""
    batch = ids.resource_ids("sgr", "cn-hangzhou", 50)
    single = ids.resource_id("sgr", "cn-hangzhou")
    assert len(set(batch)) == 50
    assert {(len(i), i[:6]) for i in batch} == {(len(single), single[:6])}
    assert ids.resource_ids("sgr", "cn-hangzhou", 0) == []
