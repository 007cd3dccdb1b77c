"""The configuration templates that ship inside the package, printed by
``informix-aio doctor --template NAME``: the Informix driver's ``odbcinst.ini`` entry, an
``odbc.ini`` with ``[ODBC] UNICODE=UCS-2`` and a DSN, and a ``sqlhosts`` example.

Fix lines point at the command that prints a template (:func:`template_command`), never at a
file of the source repository, so they work for anyone who installed the package.
"""

from __future__ import annotations

from importlib import resources

__all__ = ["TEMPLATES", "template_command", "template_text"]

#: Template name (the ``--template`` choice) -> (file in ``templates/``, what it is).
TEMPLATES: dict[str, tuple[str, str]] = {
    "odbcinst": ("odbcinst.ini", "the odbcinst.ini entry of the Informix Client SDK driver"),
    "odbc": ("odbc.ini", "an odbc.ini with [ODBC] UNICODE=UCS-2 and an Informix DSN"),
    "sqlhosts": ("sqlhosts", "an Informix sqlhosts file: one server and an HA group"),
}


def template_text(name: str) -> str:
    """The text of the template called ``name``.

    :param name: one of :data:`TEMPLATES` (``odbcinst``, ``odbc``, ``sqlhosts``).
    :raises ValueError: an unknown template name.
    """
    if name not in TEMPLATES:
        raise ValueError(f"unknown template {name!r}; choose one of {', '.join(TEMPLATES)}")
    filename = TEMPLATES[name][0]
    return resources.files(__package__).joinpath("templates", filename).read_text("utf-8")


def template_command(name: str) -> str:
    """The command that prints a template, for fix lines: ``informix-aio doctor --template X``.

    :raises ValueError: an unknown template name.
    """
    if name not in TEMPLATES:
        raise ValueError(f"unknown template {name!r}; choose one of {', '.join(TEMPLATES)}")
    return f"informix-aio doctor --template {name}"
