"""ECS (``Ecs`` 2014-05-26) actions."""

from secplane.operations.ecs import regions  # noqa: F401
