"""Every API action, declared once: wire name, typed request, RAM action, resources, handler.

Importing this package registers all of them; ``registry.REGISTRY`` is the single list of what the API
offers.
"""

from secplane.operations import ecs, ram, secplane, sts, vpc  # noqa: F401  (registration by import)
