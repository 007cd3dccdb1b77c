"""One ``APIRouter`` per area; none imports the app: the pool comes from the dependencies."""

from . import dashboard, export, health, orders, slow, users

__all__ = ["dashboard", "export", "health", "orders", "slow", "users"]
