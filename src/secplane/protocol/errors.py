"""API errors as values: an Alibaba error code, an HTTP status and a message that says what to fix."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error the client sees as ``{RequestId, HostId, Code, Message, Recommend}``."""

    __slots__ = ("code", "extra", "message", "status")

    def __init__(
        self, code: str, message: str, status: int = 400, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra  # more fields of the error body, e.g. ``AccessDeniedDetail`` on a RAM denial


def missing_parameter(name: str) -> ApiError:
    return ApiError(
        "MissingParameter",
        f'The input parameter "{name}" that is mandatory for processing this request is not supplied.',
    )


def invalid_parameter(name: str, detail: str = "") -> ApiError:
    suffix = f" {detail}" if detail else ""
    return ApiError("InvalidParameter", f'The specified parameter "{name}" is not valid.{suffix}')


def not_found(code: str, message: str) -> ApiError:
    return ApiError(code, message, 404)


INTERNAL_ERROR_MESSAGE = "The request processing has failed due to some unknown error."
