"""Installation tasks that no public API offers: the cloud services behind managed resources (SG-12).

On Alibaba Cloud a managed security group is created by the cloud service that owns it (ServiceManaged
true, ServiceID its id); no public action makes one. Here the operator plays that service: one command
gives it an access key (user name ``service:<ServiceID>``, see ``secplane.authn``), another creates a
managed group in an account. Requests signed with the service's key may then change the group; users of
the account can only read it.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from sqlalchemy import Connection, select

from secplane.authn import SERVICE_PREFIX
from secplane.bootstrap import open_store
from secplane.config import Settings
from secplane.crypto import MasterKey
from secplane.domain.regions import REGIONS_BY_ID
from secplane.store import accounts
from secplane.store import security_groups as sg_store
from secplane.store import vpc as vpc_store
from secplane.store.db import Database
from secplane.store.schema import accounts as accounts_table
from secplane.store.schema import meta

_URL_PREFIXES = ("http://", "https://")


class AdminError(Exception):
    """A refused admin task; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class ServiceKey:
    access_key_id: str
    access_key_secret: str
    account_id: str
    service_id: int

    def as_dict(self) -> dict[str, str | int]:
        return asdict(self)


def _open(settings: Settings) -> tuple[Database, MasterKey]:
    """The store of an initialized installation; never creates a master key in an empty data dir."""
    if not (settings.data_dir / "master.key").exists():
        raise AdminError(f"{settings.data_dir} holds no installation; run `secplane init` first")
    return open_store(settings)


def _account(conn: Connection, account_id: str | None) -> str:
    """The named account, which must exist, or the installation's root account."""
    if account_id is None:
        root = conn.execute(select(meta.c.value).where(meta.c.key == "root_account_id")).scalar()
        if root is None:
            raise AdminError("the installation has no root account yet; run `secplane init` first")
        return str(root)
    found = conn.execute(select(accounts_table.c.id).where(accounts_table.c.id == account_id)).scalar()
    if found is None:
        raise AdminError(f"account {account_id} does not exist")
    return account_id


def _service_id(value: int) -> int:
    """ServiceID is a positive Long on the wire."""
    if not 0 < value < 2**63:
        raise AdminError(f"--service-id must be a positive integer, not {value}")
    return value


def create_service_key(settings: Settings, service_id: int, account_id: str | None = None) -> ServiceKey:
    """An access key that authenticates as cloud service ``service_id`` acting in the account."""
    sid = _service_id(service_id)
    db, master_key = _open(settings)
    try:
        with db.write() as conn:
            owner = _account(conn, account_id)
            key = accounts.create_access_key(conn, master_key, owner, f"{SERVICE_PREFIX}{sid}")
    finally:
        db.dispose()
    return ServiceKey(key.id, key.secret, owner, sid)


def _check_text(value: str, what: str, high: int) -> str:
    if value and (not 2 <= len(value) <= high or value.lower().startswith(_URL_PREFIXES)):
        raise AdminError(f"{what} must be 2 to {high} characters long and must not start with http(s)://")
    return value


def create_managed_security_group(
    settings: Settings,
    *,
    service_id: int,
    region_id: str,
    vpc_id: str = "",
    name: str = "",
    description: str = "",
    account_id: str | None = None,
) -> str:
    """A normal security group managed by cloud service ``service_id``; returns its id."""
    sid = _service_id(service_id)
    if region_id not in REGIONS_BY_ID:
        raise AdminError(f"unknown region {region_id!r}")
    _check_text(name, "--name", 128)
    _check_text(description, "--description", 256)
    db, _key = _open(settings)
    try:
        with db.write() as conn:
            owner = _account(conn, account_id)
            if vpc_id:
                vpc = vpc_store.get_vpc(conn, owner, vpc_id)
                if vpc is None or vpc.region_id != region_id:
                    raise AdminError(f"VPC {vpc_id} does not exist in account {owner}, region {region_id}")
            return sg_store.insert_group(
                conn,
                account_id=owner,
                region_id=region_id,
                vpc_id=vpc_id,
                name=name,
                description=description,
                group_type="normal",
                resource_group_id=accounts.default_resource_group(conn, owner),
                now=time.time(),
                service_managed=True,
                service_id=sid,
            )
    finally:
        db.dispose()
