"""Users, groups and roles by name for the RAM handlers: found (optionally locked) or RAM's 404.

Lock order across RAM writers: the account row, then users, groups, roles, custom policies.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import Row

from secplane.operations.context import Context
from secplane.operations.ram.common import not_exist
from secplane.operations.ram.users import lock_user, require_user
from secplane.store.ram_groups import find_named
from secplane.store.schema import ram_groups, ram_roles

Entity = Literal["User", "Group", "Role"]

_TABLES = {"Group": ram_groups, "Role": ram_roles}


def existing(ctx: Context, entity: Entity, name: str, *, lock: bool = False) -> Row[Any]:
    """The caller's user, group or role called ``name``; ``lock`` holds its row for the rest of the
    transaction (for a limit or conflict check that must stay true until commit)."""
    if entity == "User":
        return lock_user(ctx, name) if lock else require_user(ctx, name)
    row = find_named(ctx.db, ctx.conn, _TABLES[entity], ctx.account_id, name, lock=lock)
    if row is None:
        raise not_exist(entity, f"The {entity.lower()} does not exist.")
    return row
