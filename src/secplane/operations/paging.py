"""The two paging styles of the API: PageNumber/PageSize and MaxResults/NextToken."""

from __future__ import annotations

import base64
import binascii

from secplane.protocol.errors import ApiError, invalid_parameter


def page_window(page_number: int, page_size: int, max_size: int = 50) -> tuple[int, int]:
    """(offset, limit) for PageNumber/PageSize; out-of-range values are refused naming the parameter."""
    if page_number < 1:
        raise invalid_parameter("PageNumber", "It must be 1 or greater.")
    if not 1 <= page_size <= max_size:
        raise invalid_parameter("PageSize", f"It must be between 1 and {max_size}.")
    return (page_number - 1) * page_size, page_size


def page_fields(total: int, page_number: int, page_size: int) -> dict[str, int]:
    return {"TotalCount": total, "PageNumber": page_number, "PageSize": page_size}


def encode_token(offset: int) -> str:
    """An opaque NextToken for the next offset."""
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_token(token: str) -> int:
    """The offset a NextToken stands for; 0 for none."""
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        if text.startswith("o:") and text[2:].isdigit():
            return int(text[2:])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ApiError("InValidParameter.NextToken", "The parameter NextToken is invalid.")


def clamp_max_results(value: int | None, low: int, high: int, default: int) -> int:
    """MaxResults as ECS treats it: absent -> default, below ``low`` -> low, above ``high`` -> high."""
    if value is None:
        return default
    return max(low, min(high, value))
