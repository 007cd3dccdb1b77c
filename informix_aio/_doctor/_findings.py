"""What a check reports: a :class:`Finding` with a :data:`Status`, and the advice several
checks share.

Relevance levels say how much Informix matters on this machine; the Informix checks are
errors, warnings or mere information depending on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ._templates import template_command

__all__ = [
    "INFORMIX_ABSENT",
    "INFORMIX_REGISTERED",
    "INFORMIX_TARGETED",
    "INSTALL_CSDK",
    "UCS2_WHY",
    "Finding",
    "Status",
]


Status = Literal["ok", "info", "warn", "error"]
"""How a finding counts: only ``error`` means something blocks a connection."""


# How much Informix matters here: 0 not at all, 1 a driver is registered, 2 the target is Informix.
INFORMIX_ABSENT, INFORMIX_REGISTERED, INFORMIX_TARGETED = 0, 1, 2

# Advice more than one check gives.
UCS2_WHY = (
    "the Informix driver assumes 4-byte UCS-4 wide characters on UNIX unless told otherwise, "
    "while unixODBC and pyodbc 5 (which always calls SQLDriverConnectW) pass 2-byte UTF-16; "
    "connecting then fails with -11060 or garbled text (pyodbc issues #1392, #1433)"
)
INSTALL_CSDK = (
    "install the IBM Informix Client SDK (or copy $INFORMIXDIR out of IBM's "
    "informix-developer-database image), then register its driver:\n"
    f"{template_command('odbcinst')} > informix-odbcinst.ini\n"
    "(edit Driver= and Setup= to $INFORMIXDIR/lib/cli/iclit09b.so; CSDK 15: iclit15a.so)\n"
    "odbcinst -i -d -f informix-odbcinst.ini   (as root)"
)


@dataclass(frozen=True)
class Finding:
    """One result of one check.

    :param check: a stable identifier (``"connect"``, ``"odbc-unicode"``, ``"driver:SQLite3"``).
    :param status: ``ok``, ``info``, ``warn`` or ``error`` (blocks a connection).
    :param message: what was found.
    :param fix: what to do about it (empty when there is nothing to do).
    """

    check: str
    status: Status
    message: str
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        """The finding as the JSON object ``--json`` prints."""
        return {
            "check": self.check,
            "status": self.status,
            "message": self.message,
            "fix": self.fix,
        }
