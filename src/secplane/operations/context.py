"""What a handler knows about the call it serves: who, where, and the open transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection

from secplane.crypto import MasterKey
from secplane.store.db import Database


@dataclass(frozen=True, slots=True)
class Principal:
    """The identity a request acts as.

    ``kind``: ``root`` (the account itself), ``service`` (a cloud service acting in the account),
    ``user`` (a RAM user: ``name`` is the user name, ``id`` the UserId) or ``role`` (an STS role
    session: ``name`` is the role name, ``id`` the RoleId, ``session`` the RoleSessionName).
    """

    kind: str
    account_id: str
    name: str
    arn: str
    id: str = ""
    session: str = ""
    mfa: bool = False

    @classmethod
    def user(cls, account_id: str, user_id: str, name: str) -> Principal:
        return cls("user", account_id, name, f"acs:ram::{account_id}:user/{name}", user_id)

    @classmethod
    def role_session(cls, account_id: str, role_id: str, role: str, session: str) -> Principal:
        return cls("role", account_id, role, f"acs:ram::{account_id}:role/{role}/{session}", role_id, session)

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
    secure_transport: bool = False
    ram_revision: int = 0  # the account's RAM revision this call's identity was resolved at
    session_policy: str | None = None  # an STS session's policy (RAM-6: rights ∩ this)
    # Set by the gateway: authorizes one more action the call depends on (ram:PassRole,
    # vpc:CreateDefaultVpc ...) for this caller; see ``require``.
    authorizer: Callable[[Context, str, Sequence[str], dict[str, str] | None], None] | None = None
    # The call's transaction, begun on first use: a handler that needs no data opens none.
    begin: Callable[[], Connection] | None = None
    _conn: Connection | None = None

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            assert self.begin is not None, "a handler's context is given a transaction opener"
            self._conn = self.begin()
        return self._conn

    def require(self, action: str, resources: Sequence[str], context: dict[str, str] | None = None) -> None:
        """Authorize a dependent action (e.g. ``ram:PassRole`` on the role given to an instance) for
        this caller, with extra condition keys; raises the product's denial. A no-op without an
        authorizer (in-process callers such as the admin CLI act as the account)."""
        if self.authorizer is not None:
            self.authorizer(self, action, resources, context)

    @property
    def account_id(self) -> str:
        return self.principal.account_id

    def arn(self, resource: str, service: str | None = None, region: str | None = None) -> str:
        """``acs:<service>:<region>:<account>:<resource>`` for this caller."""
        return (
            f"acs:{service or self.service}:{region if region is not None else self.region_id}:"
            f"{self.account_id}:{resource}"
        )
