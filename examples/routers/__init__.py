"""One ``APIRouter`` per area; none imports the app: the pool comes from the dependencies.

The health endpoints are the library's own (:func:`informix_aio.fastapi.health_router`).
"""

from . import dashboard, export, orders, slow, users

__all__ = ["dashboard", "export", "orders", "slow", "users"]
