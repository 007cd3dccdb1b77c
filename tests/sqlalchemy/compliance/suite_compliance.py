"""SQLAlchemy's dialect compliance suite, as third-party dialects run it."""

from sqlalchemy.testing.suite import *  # noqa: F403
