"""SSH key pairs in the store: the pairs, their tags, and their binding to instances.

Callers hold the transaction. Writers lock in one order: the account row (creators, for the per-region
quota) → key pair rows (sorted by name) → instance rows (sorted by id). SQLite writers are serialized
already; on PostgreSQL the row locks make the checks hold across server processes.

A pair is identified by (account, region, name). A pair deleted while instances still use it stays as a
tombstone (``deleted``): excluded from every listing, its public key still served to those instances,
its name taken for good (KP-5).

Binding state lives on the instance: ``key_pair_name`` is the pair in effect; ``pending_key_pair_name``
is the change a running instance takes at its next start or reboot (a name: attach that pair; "":
detach; NULL: nothing pending); ``password_login`` turns off when an attached pair takes effect and
comes back only with a password reset.

Tags of key pairs are read and written here, scoped by account and region: pairs are tagged by name,
and two accounts (or two regions) may use the same name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    and_,
    delete,
    false,
    func,
    insert,
    or_,
    select,
    true,
    update,
)

from secplane.store.db import Database
from secplane.store.schema import accounts, instances, key_pairs, tags

RESOURCE_TYPE = "keypair"


# ---------------------------------------------------------------- pairs


def lock_account(db: Database, conn: Connection, account_id: str) -> None:
    """Serialize the account's key-pair creators (PostgreSQL) so that the count they check holds."""
    db.lock_row(conn, accounts, account_id)


def _one(account_id: str, region_id: str, name: str) -> ColumnElement[bool]:
    c = key_pairs.c
    return and_(c.account_id == account_id, c.region_id == region_id, c.name == name)


def get(conn: Connection, account_id: str, region_id: str, name: str) -> Row[Any] | None:
    """The pair, tombstone or not."""
    return conn.execute(select(key_pairs).where(_one(account_id, region_id, name))).first()


def lock(db: Database, conn: Connection, account_id: str, region_id: str, name: str) -> Row[Any] | None:
    """The pair (tombstone or not), locked until the transaction ends."""
    stmt = select(key_pairs).where(_one(account_id, region_id, name))
    if not db.is_sqlite:
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()


def count_live(conn: Connection, account_id: str, region_id: str) -> int:
    """Pairs that count against the quota: tombstones are gone for the user, so they do not."""
    c = key_pairs.c
    return int(
        conn.execute(
            select(func.count()).where(
                c.account_id == account_id, c.region_id == region_id, c.deleted.is_(False)
            )
        ).scalar_one()
    )


def insert_pair(conn: Connection, **values: Any) -> None:
    conn.execute(insert(key_pairs).values(deleted=False, **values))


def tombstone(conn: Connection, account_id: str, region_id: str, name: str) -> None:
    conn.execute(update(key_pairs).where(_one(account_id, region_id, name)).values(deleted=True))


def delete_pair(conn: Connection, account_id: str, region_id: str, name: str) -> None:
    conn.execute(delete(key_pairs).where(_one(account_id, region_id, name)))


def is_bound(conn: Connection, account_id: str, region_id: str, name: str) -> bool:
    """Whether an instance uses the pair, or will after its next start (a pending attach)."""
    c = instances.c
    found = conn.execute(
        select(c.id)
        .where(
            c.account_id == account_id,
            c.region_id == region_id,
            or_(c.key_pair_name == name, c.pending_key_pair_name == name),
        )
        .limit(1)
    ).first()
    return found is not None


# ---------------------------------------------------------------- listing


@dataclass(frozen=True, slots=True)
class Filters:
    """DescribeKeyPairs filters; None means "not filtered"."""

    name: str | None = None  # ``x*`` prefix, ``*x`` suffix, ``*x*`` contains, else exact
    fingerprint: str | None = None  # normalized: 32 lower-case hex digits
    resource_group_id: str | None = None
    tags: Sequence[tuple[str, str | None]] = ()


@dataclass(frozen=True, slots=True)
class Page:
    total: int
    rows: Sequence[Row[Any]]


def name_matches(pattern: str) -> ColumnElement[bool]:
    """The KeyPairName filter, case-sensitive on both databases (SQLite's LIKE is not): prefix and
    suffix compare a substring, "contains" asks whether removing the text changes the name. A ``*``
    anywhere else matches nothing, since no name contains one."""
    name = key_pairs.c.name
    lead, trail = pattern.startswith("*"), len(pattern) > 1 and pattern.endswith("*")
    if not (lead or trail):
        return name == pattern
    core = pattern.strip("*")
    if not core:
        return true()
    if lead and trail:
        return func.replace(name, core, "") != name
    if trail:
        return func.substr(name, 1, len(core)) == core
    return and_(func.length(name) >= len(core), func.substr(name, func.length(name) - len(core) + 1) == core)


def _conditions(account_id: str, region_id: str, f: Filters) -> list[ColumnElement[bool]]:
    c = key_pairs.c
    where: list[ColumnElement[bool]] = [
        c.account_id == account_id,
        c.region_id == region_id,
        c.deleted.is_(False),
    ]
    if f.name is not None:
        where.append(name_matches(f.name))
    if f.fingerprint is not None:
        where.append(c.fingerprint == f.fingerprint)
    if f.resource_group_id is not None:
        where.append(c.resource_group_id == f.resource_group_id)
    if f.tags:
        where.append(c.name.in_(_tagged(account_id, region_id, f.tags)))
    return where


def list_page(conn: Connection, account_id: str, region_id: str, f: Filters, offset: int, limit: int) -> Page:
    """A page of live pairs in name order, and how many match in all."""
    where = _conditions(account_id, region_id, f)
    total = int(conn.execute(select(func.count()).select_from(key_pairs).where(*where)).scalar_one())
    if total <= offset:
        return Page(total, [])
    rows = conn.execute(
        select(key_pairs).where(*where).order_by(key_pairs.c.name).offset(offset).limit(limit)
    ).all()
    return Page(total, rows)


# ---------------------------------------------------------------- tags (scoped: names are not unique)


def _scope(account_id: str, region_id: str) -> list[ColumnElement[bool]]:
    return [
        tags.c.account_id == account_id,
        tags.c.region_id == region_id,
        tags.c.resource_type == RESOURCE_TYPE,
    ]


def _tagged(account_id: str, region_id: str, wanted: Sequence[tuple[str, str | None]]) -> Select[tuple[str]]:
    """Names carrying every wanted tag (a value of None matches any value)."""
    unique = list(dict.fromkeys(wanted))
    keys = {key for key, _ in unique}
    if len(keys) != len(unique):  # one key wanted with two values: no pair has both
        return select(tags.c.resource_id).where(false())
    matches = [
        tags.c.tag_key == key if value is None else and_(tags.c.tag_key == key, tags.c.tag_value == value)
        for key, value in unique
    ]
    return (
        select(tags.c.resource_id)
        .where(*_scope(account_id, region_id), or_(*matches))
        .group_by(tags.c.resource_id)
        .having(func.count() == len(unique))
    )


def set_tags(conn: Connection, account_id: str, region_id: str, name: str, pairs: dict[str, str]) -> None:
    """The tags of a pair being registered (any left from an earlier pair of that name go first)."""
    remove_tags(conn, account_id, region_id, [name])
    for key, value in pairs.items():
        conn.execute(
            insert(tags).values(
                account_id=account_id, region_id=region_id, resource_type=RESOURCE_TYPE, resource_id=name,
                tag_key=key, tag_value=value,
            )
        )  # fmt: skip


def remove_tags(conn: Connection, account_id: str, region_id: str, names: Sequence[str]) -> None:
    if names:
        conn.execute(delete(tags).where(*_scope(account_id, region_id), tags.c.resource_id.in_(list(names))))


def tags_of(
    conn: Connection, account_id: str, region_id: str, names: Iterable[str]
) -> dict[str, list[tuple[str, str]]]:
    """Tags per pair name, sorted by key; one query for a whole page."""
    wanted = list(names)
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    if not wanted:
        return out
    rows = conn.execute(
        select(tags.c.resource_id, tags.c.tag_key, tags.c.tag_value)
        .where(*_scope(account_id, region_id), tags.c.resource_id.in_(wanted))
        .order_by(tags.c.resource_id, tags.c.tag_key)
    )
    for row in rows:
        out[row.resource_id].append((row.tag_key, row.tag_value))
    return out


# ---------------------------------------------------------------- binding to instances


def desired_key_pair(instance: Row[Any]) -> str:
    """The pair the instance has once pending changes apply ("" for none)."""
    pending = instance.pending_key_pair_name
    return str(pending if pending is not None else instance.key_pair_name)


def bind(conn: Connection, instance: Row[Any], name: str) -> None:
    """Attach ``name``, replacing any pair: at once on a stopped instance (nothing runs to hold the old
    key), at the next start or reboot on a running one."""
    if instance.status == "Stopped":
        values: dict[str, Any] = {
            "key_pair_name": name,
            "pending_key_pair_name": None,
            "password_login": False,
        }
    elif instance.key_pair_name == name and not instance.password_login:
        values = {"pending_key_pair_name": None}  # already in effect: cancel any other pending change
    else:
        values = {"pending_key_pair_name": name}
    conn.execute(update(instances).where(instances.c.id == instance.id).values(**values))


def unbind(conn: Connection, instance: Row[Any]) -> None:
    """Detach the instance's pair; password login stays off until the password is reset."""
    if instance.status == "Stopped":
        values: dict[str, Any] = {"key_pair_name": "", "pending_key_pair_name": None}
    else:
        values = {"pending_key_pair_name": "" if instance.key_pair_name else None}
    conn.execute(update(instances).where(instances.c.id == instance.id).values(**values))


def apply_pending_key_pair(conn: Connection, instance_id: str) -> None:
    """The instance (re)starts: a pair attached or detached while it ran takes effect now, and an
    attached pair turns password login off. Call it in the (re)start's transaction, instance locked."""
    pending = conn.execute(
        select(instances.c.pending_key_pair_name).where(instances.c.id == instance_id)
    ).scalar()
    if pending is None:
        return
    values: dict[str, Any] = {"key_pair_name": pending, "pending_key_pair_name": None}
    if pending:
        values["password_login"] = False
    conn.execute(update(instances).where(instances.c.id == instance_id).values(**values))


def password_reset(conn: Connection, instance_id: str) -> None:
    """A new login password was set (ModifyInstanceAttribute ``Password``): password login works again."""
    conn.execute(update(instances).where(instances.c.id == instance_id).values(password_login=True))


def authorized_keys(conn: Connection, instance_id: str) -> list[str]:
    """The OpenSSH lines the instance accepts: its pair in effect (a deleted pair's key still works,
    KP-5); none without a pair. Served by the metadata service as ``public-keys/``."""
    instance = conn.execute(
        select(instances.c.account_id, instances.c.region_id, instances.c.key_pair_name).where(
            instances.c.id == instance_id
        )
    ).first()
    if instance is None or not instance.key_pair_name:
        return []
    line = conn.execute(
        select(key_pairs.c.public_key).where(
            _one(instance.account_id, instance.region_id, instance.key_pair_name)
        )
    ).scalar()
    return [line] if line else []


def bindings(
    conn: Connection, account_id: str, region_id: str, instance_ids: Sequence[str]
) -> Sequence[Row[Any]]:
    """Key-pair state of the account's instances among ``instance_ids`` (in that region), by id."""
    c = instances.c
    return conn.execute(
        select(instances)
        .where(c.account_id == account_id, c.region_id == region_id, c.id.in_(list(instance_ids)))
        .order_by(c.id)
    ).all()
