"""What a handler knows about the call it serves: who, where, and the open transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection

from secplane.crypto import MasterKey
from secplane.store.db import Database


@dataclass(frozen=True, slots=True)
class Principal:
    """The identity a request acts as. ``kind`` is ``root`` for the account itself."""

    kind: str
    account_id: str
    name: str
    arn: str

    @classmethod
    def root(cls, account_id: str) -> Principal:
        return cls("root", account_id, "root", f"acs:ram::{account_id}:root")

    @classmethod
    def service(cls, account_id: str, service_id: str) -> Principal:
        """A cloud service acting in the account; it owns the managed resources with its ServiceID."""
        return cls("service", account_id, service_id, f"acs:ram::{account_id}:service/{service_id}")


@dataclass(slots=True)
class Context:
    request_id: str
    principal: Principal
    access_key_id: str
    source_ip: str
    service: str
    region_id: str
    now: float
    db: Database
    master_key: MasterKey
    touched: list[str] = field(default_factory=list)  # resource ids for the audit trail
    # The call's transaction, begun on first use: a handler that needs no data opens none.
    begin: Callable[[], Connection] | None = None
    _conn: Connection | None = None

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            assert self.begin is not None, "a handler's context is given a transaction opener"
            self._conn = self.begin()
        return self._conn

    @property
    def account_id(self) -> str:
        return self.principal.account_id

    def arn(self, resource: str, service: str | None = None, region: str | None = None) -> str:
        """``acs:<service>:<region>:<account>:<resource>`` for this caller."""
        return (
            f"acs:{service or self.service}:{region if region is not None else self.region_id}:"
            f"{self.account_id}:{resource}"
        )
