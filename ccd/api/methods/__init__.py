"""The API's methods, one module per noun; importing this package registers them on REGISTRY.

A later feature adds its module here (e.g. `from ccd.api.methods import queues`) and declares its
methods with `@method(name, roles=..., params=...)` (see ccd/api/registry.py).
"""

from ccd import api_methods_wo
from ccd.api.methods import (  # noqa: F401
    agent,
    callers,
    calls,
    customers,
    help,
    queues,
    session,
    status,
    supervisor,
    tasks,
    users,
    wallboard,
)
from ccd.api.registry import REGISTRY

api_methods_wo.register(REGISTRY)
