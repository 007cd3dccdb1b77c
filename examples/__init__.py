"""The informix-aio example service: a small FastAPI application over the connection pool.

``make run`` (``python -m examples.app``) serves it on http://127.0.0.1:8000 with an embedded
SQLite database; ``INFORMIX_AIO_EXAMPLE_DSN`` points it at Informix or PostgreSQL instead
(see :mod:`examples.app`).

- :mod:`examples.app`       ``create_app()`` and ``main()``: lifespan, middleware, routers
- :mod:`examples.db`        the few statements that differ between databases
- :mod:`examples.schema`    tables and seed data, created on first start
- :mod:`examples.audit`     the audit trail, written by background tasks
- :mod:`examples.routers`   one ``APIRouter`` per area: users, orders, export, dashboard, slow
  (health: ``informix_aio.fastapi.health_router``)
"""
