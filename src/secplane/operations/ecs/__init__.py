"""ECS (``Ecs`` 2014-05-26) actions."""

from secplane.operations.ecs import (  # noqa: F401
    images,
    instance_roles,
    instances,
    key_pairs,
    membership,
    network_interfaces,
    prefix_lists,
    regions,
    security_groups,
    sg_rules,
    tags,
)
