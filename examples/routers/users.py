"""``GET /users/{id}`` and ``POST /users``."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, HTTPException
from pydantic import BaseModel, Field

from informix_aio.fastapi import Connection, DBPool

from ..audit import write_audit
from ..db import insert_returning_id

__all__ = ["NewUser", "User", "router"]

router = APIRouter(prefix="/users", tags=["users"])


class NewUser(BaseModel):
    """A user to create."""

    email: str = Field(min_length=3, max_length=255, pattern=r"^[^@\s]+@[^@\s]+$")
    name: str = Field(min_length=1, max_length=255)


class User(BaseModel):
    """A stored user."""

    id: int
    email: str
    name: str


@router.get("/{user_id}", responses={404: {"description": "No such user"}})
async def get_user(user_id: int, conn: Connection) -> User:
    """One user, or 404."""
    row = await conn.fetchrow("SELECT id, email, name FROM users WHERE id = ?", (user_id,))
    if row is None:
        raise HTTPException(status_code=404, detail=f"no user {user_id}")
    return User(id=row[0], email=row[1], name=row[2])


@router.post("", status_code=201, responses={409: {"description": "The email is taken"}})
async def create_user(
    user: NewUser, conn: Connection, pool: DBPool, tasks: BackgroundTasks
) -> User:
    """Create a user; a duplicate email is an ``IntegrityError``, which becomes 409."""
    user_id = await insert_returning_id(
        conn, "INSERT INTO users (email, name) VALUES (?, ?)", (user.email, user.name)
    )
    tasks.add_task(write_audit, pool, f"user {user_id} created")
    return User(id=user_id, email=user.email, name=user.name)
