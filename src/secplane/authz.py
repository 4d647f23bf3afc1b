"""Authorization: the one step every operation passes before its handler runs.

The account root is allowed everything (it still passes through here, so the audit trail and the
"every action is authorized" test see it). RAM policy evaluation for users and role sessions plugs in
here.
"""

from __future__ import annotations

from typing import Any

from secplane.operations.context import Context
from secplane.operations.registry import Operation
from secplane.protocol.errors import ApiError

FORBIDDEN_RAM = ApiError(
    "Forbidden.RAM",
    "User not authorized to operate on the specified resource, or this API doesn't support RAM.",
    403,
)


def authorize(ctx: Context, op: Operation[Any], request: Any) -> list[str]:
    """Return the resource ARNs the call touches, or raise ``Forbidden.RAM``."""
    resources = op.resources(ctx, request)
    if ctx.principal.kind in ("root", "service"):  # a service acts for the account it serves
        return resources
    raise ApiError(FORBIDDEN_RAM.code, FORBIDDEN_RAM.message, FORBIDDEN_RAM.status)
