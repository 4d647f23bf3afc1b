"""Our own product, ``Secplane`` 2026-11-28: what Alibaba offers only in its console (rule checks, risk
reports), on the same wire, signatures, errors and authorization as the ECS actions."""

from secplane.operations.secplane import (  # noqa: F401
    check,
    ports,
    risk,
    sg_clone,
    sg_restore,
    sg_transfer,
    simulate,
)
