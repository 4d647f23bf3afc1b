"""What every RAM action shares: name checks with RAM's error codes, ARNs, Marker/MaxItems paging."""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Sequence
from typing import Any, TypeVar

from secplane.operations.context import Context
from secplane.protocol.errors import ApiError
from secplane.protocol.params import Request

T = TypeVar("T")

USER_NAME = re.compile(r"^[A-Za-z0-9.\-_@]+$")  # older docs also allow "@"
GROUP_NAME = re.compile(r"^[A-Za-z0-9.\-_]+$")
ROLE_NAME = re.compile(r"^[A-Za-z0-9.\-]+$")
POLICY_NAME = re.compile(r"^[A-Za-z0-9\-]+$")
MFA_NAME = re.compile(r"^[A-Za-z0-9.\-]+$")


def iso(ts: float | None) -> str:
    """RAM's time format, ``YYYY-MM-DDThh:mm:ssZ``; empty for never."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)) if ts is not None else ""


def check_name(param: str, value: str, pattern: re.Pattern[str], max_length: int = 64) -> str:
    """RAM's ``InvalidParameter.<Param>.Length`` / ``.InvalidChars``, in the documented wording."""
    if not 1 <= len(value) <= max_length:
        raise ApiError(
            f"InvalidParameter.{param}.Length",
            f'The parameter - "{param}" beyond the length limit {max_length}.',
        )
    if not pattern.match(value):
        raise ApiError(
            f"InvalidParameter.{param}.InvalidChars", f'The parameter - "{param}" contains invalid chars.'
        )
    return value


def check_length(param: str, value: str, max_length: int) -> str:
    if len(value) > max_length:
        raise ApiError(
            f"InvalidParameter.{param}.Length",
            f'The parameter - "{param}" beyond the length limit {max_length}.',
        )
    return value


def not_exist(entity: str, message: str) -> ApiError:
    """``EntityNotExist.<Entity>`` (404), e.g. ``not_exist("User", "The user does not exist.")``."""
    return ApiError(f"EntityNotExist.{entity}", message, 404)


def already_exists(entity: str, message: str) -> ApiError:
    return ApiError(f"EntityAlreadyExists.{entity}", message, 409)


def limit_exceeded(entity: str, message: str) -> ApiError:
    return ApiError(f"LimitExceeded.{entity}", message, 409)


def delete_conflict(entity: str, message: str) -> ApiError:
    return ApiError(f"DeleteConflict.{entity}", message, 409)


def ram_arn(ctx: Context, resource: str) -> str:
    """``acs:ram::<account>:<resource>`` — RAM is global, its ARNs carry no region."""
    return f"acs:ram::{ctx.account_id}:{resource}"


class PageRequest(Request):
    """Marker/MaxItems: the paging of every RAM List* action."""

    marker: str = ""
    max_items: int | None = None


def page(items: Sequence[T], marker: str, max_items: int | None, limit: int = 1000) -> tuple[list[T], str]:
    """Marker/MaxItems paging over an ordered list: (this page, the next Marker or "")."""
    size = 100 if max_items is None else max_items
    if not 1 <= size <= limit:
        raise ApiError("InvalidParameter.MaxItems", f"The parameter MaxItems must be between 1 and {limit}.")
    start = _decode_marker(marker)
    chunk = list(items[start : start + size])
    more = start + size < len(items)
    return chunk, (_encode_marker(start + size) if more else "")


def page_fields(marker: str) -> dict[str, Any]:
    return {"IsTruncated": bool(marker), "Marker": marker}


def _encode_marker(offset: int) -> str:
    return base64.urlsafe_b64encode(f"m:{offset}".encode()).decode().rstrip("=")


def _decode_marker(marker: str) -> int:
    if not marker:
        return 0
    try:
        text = base64.urlsafe_b64decode(marker + "=" * (-len(marker) % 4)).decode()
        if text.startswith("m:") and text[2:].isdigit():
            return int(text[2:])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ApiError("InvalidParameter.Marker", "The parameter Marker is invalid.")
