"""Load SQLAlchemy's pytest plugin and register the async MariaDB dialect under test."""

from __future__ import annotations

import pytest

from tests.sqlalchemy._mariadb import register

register()
pytest.register_assert_rewrite("sqlalchemy.testing.assertions")

from sqlalchemy.testing.plugin.pytestplugin import *  # noqa: E402, F403
