"""``GET /users/{id}`` returning a constant-shaped body: no database, the ceiling."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from . import user_json

__all__ = ["app"]

app = FastAPI()


@app.get("/users/{user_id}")
async def get_user(user_id: int) -> dict[str, Any]:
    return user_json((user_id, f"user {user_id}", f"user{user_id}@example.com"))
