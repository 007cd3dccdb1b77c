"""TLS to Informix end to end: ``tls=True`` (or ``protocol="onsocssl"``) reaches the connection
string, and ``informix-aio doctor`` checks the client side the Client SDK reads
(``$INFORMIXDIR/etc/conssl.cfg``, the keystore and its stash file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from informix_aio import build_options
from informix_aio._doctor import run_doctor
from informix_aio._doctor._tls import check_tls, parse_conssl

TLS = {"PROTOCOL": "onsocssl", "SERVER": "ol_tls", "HOST": "db", "SERVICE": "9091"}


def informixdir(tmp_path: Path, conssl: str | None, *files: str) -> dict[str, str]:
    etc = tmp_path / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    if conssl is not None:
        (etc / "conssl.cfg").write_text(conssl.format(d=tmp_path))
    for name in files:
        (tmp_path / name).write_bytes(b"x")
    return {"INFORMIXDIR": str(tmp_path)}


def test_conssl_lines_are_parameter_value_with_comments() -> None:
    text = (
        "# client\nSSL_KEYSTORE_FILE  /k/client.p12  # Keystore file\n\nSSL_KEYSTORE_STH /k/c.sth\n"
    )
    assert parse_conssl(text) == {
        "SSL_KEYSTORE_FILE": "/k/client.p12",
        "SSL_KEYSTORE_STH": "/k/c.sth",
    }


def test_plain_tcp_targets_get_no_tls_finding(tmp_path: Path) -> None:
    assert check_tls({"PROTOCOL": "onsoctcp"}, {}) == []
    assert check_tls(None, {}) == []


def test_keystore_with_its_stash_beside_it_is_ok(tmp_path: Path) -> None:
    env = informixdir(tmp_path, "SSL_KEYSTORE_FILE {d}/client.p12\n", "client.p12", "client.sth")
    [finding] = check_tls(TLS, env)
    assert finding.status == "ok"
    assert "client.p12" in finding.message


def test_explicit_stash_file_is_checked(tmp_path: Path) -> None:
    cfg = "SSL_KEYSTORE_FILE {d}/client.p12\nSSL_KEYSTORE_STH {d}/elsewhere.sth\n"
    env = informixdir(tmp_path, cfg, "client.p12", "client.sth")
    [finding] = check_tls(TLS, env)
    assert finding.status == "error"
    assert "elsewhere.sth" in finding.message


@pytest.mark.parametrize(
    ("conssl", "files", "says"),
    [
        (None, (), "conssl.cfg"),
        ("# nothing\n", (), "no SSL_KEYSTORE_FILE"),
        ("SSL_KEYSTORE_FILE {d}/client.p12\n", ("client.sth",), "keystore"),
        ("SSL_KEYSTORE_FILE {d}/client.p12\n", ("client.p12",), "stash"),
    ],
)
def test_missing_pieces_are_errors_with_a_fix(
    tmp_path: Path, conssl: str | None, files: tuple[str, ...], says: str
) -> None:
    findings = check_tls(TLS, informixdir(tmp_path, conssl, *files))
    assert findings and all(f.status == "error" for f in findings)
    assert any(says in f.message for f in findings)
    assert all(f.fix for f in findings)


def test_no_informixdir_is_an_error_naming_it() -> None:
    [finding] = check_tls(TLS, {})
    assert finding.status == "error"
    assert "INFORMIXDIR" in finding.message


def test_doctor_checks_tls_for_a_tls_target(tmp_path: Path) -> None:
    options = build_options(
        driver="IBM INFORMIX ODBC DRIVER", server="ol_tls", host="db", service=9091, tls=True
    )
    assert "PROTOCOL=onsocssl" in options.connection_string
    env = {"PATH": "/usr/bin:/bin", **informixdir(tmp_path, None)}
    report = run_doctor(options, env=env, timeout=2)
    tls = [f for f in report.findings if f.check == "tls"]
    assert tls and tls[0].status == "error"
    assert "conssl.cfg" in tls[0].message
