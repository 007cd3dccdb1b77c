"""TLS to Informix (``PROTOCOL=onsocssl``): the client side the Client SDK needs.

IBM's "Configuring a client for SSL connections" (Informix 14.10 security guide): the client
reads ``$INFORMIXDIR/etc/conssl.cfg``, whose ``SSL_KEYSTORE_FILE`` names the keystore holding
the CA certificates of the servers it connects to, and whose ``SSL_KEYSTORE_STH`` names the
keystore's password stash file (optional from 14.10.xC4W1 when the stash sits beside the
keystore with the same name and the ``.sth`` extension). None of this travels in the connection
string, so the check reads the files themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ._findings import Finding

__all__ = ["check_tls", "parse_conssl"]

_TLS_PROTOCOLS = frozenset({"onsocssl", "drsocssl"})
_FIX_CFG = (
    "create $INFORMIXDIR/etc/conssl.cfg with the line `SSL_KEYSTORE_FILE /path/client.p12` "
    "(and `SSL_KEYSTORE_STH /path/client.sth` if the stash file is elsewhere); put the CA "
    "certificate that signed the server's certificate into that keystore (gsk8capicmd or "
    "openssl, per IBM's 'Configuring a client for SSL connections')"
)


def parse_conssl(text: str) -> dict[str, str]:
    """``conssl.cfg``: ``PARAMETER value  # comment`` lines -> ``{PARAMETER: value}``."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        key, _, value = line.partition(" ")
        if value.strip():
            out.setdefault(key.strip().upper(), value.strip())
    return out


def check_tls(keywords: Mapping[str, str] | None, env: Mapping[str, str]) -> list[Finding]:
    """For a target whose PROTOCOL is ``onsocssl``: conssl.cfg, its keystore and stash file.

    :param keywords: the target's effective connection keywords (``None``: no target).
    :param env: the environment the driver will see (``INFORMIXDIR``).
    """
    if not keywords or keywords.get("PROTOCOL", "").strip().lower() not in _TLS_PROTOCOLS:
        return []
    home = env.get("INFORMIXDIR")
    if not home:
        return [
            Finding(
                "tls",
                "error",
                "PROTOCOL=onsocssl, but INFORMIXDIR is not set: the driver reads its TLS "
                "set-up from $INFORMIXDIR/etc/conssl.cfg",
                "export INFORMIXDIR=<the Client SDK directory>; " + _FIX_CFG,
            )
        ]
    cfg = Path(home) / "etc" / "conssl.cfg"
    try:
        params = parse_conssl(cfg.read_text(encoding="utf-8", errors="replace"))
    except OSError as exc:
        return [Finding("tls", "error", f"PROTOCOL=onsocssl, but {cfg}: {exc.strerror}", _FIX_CFG)]
    keystore = params.get("SSL_KEYSTORE_FILE")
    if not keystore:
        return [Finding("tls", "error", f"{cfg} names no SSL_KEYSTORE_FILE", _FIX_CFG)]
    findings: list[Finding] = []
    store = Path(keystore)
    if not store.is_file():
        findings.append(
            Finding(
                "tls",
                "error",
                f"keystore {store} (SSL_KEYSTORE_FILE in {cfg}) is missing",
                _FIX_CFG,
            )
        )
    stash = Path(params["SSL_KEYSTORE_STH"]) if "SSL_KEYSTORE_STH" in params else None
    implied = stash is None
    stash = stash if stash is not None else store.with_suffix(".sth")
    if not stash.is_file():
        where = "the stash file beside the keystore" if implied else "SSL_KEYSTORE_STH"
        findings.append(
            Finding(
                "tls",
                "error",
                f"keystore password stash {stash} ({where}) is missing: the driver cannot "
                "open the keystore",
                "create it with the keystore tool's stash option (gsk8capicmd -keydb -stashpw) "
                f"or name it with SSL_KEYSTORE_STH in {cfg}",
            )
        )
    if findings:
        return findings
    return [Finding("tls", "ok", f"TLS: {cfg} names keystore {store} and stash {stash}")]
