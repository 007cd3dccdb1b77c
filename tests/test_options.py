"""Connection options: the connection string per dialect, escaping, redaction, validation."""

from __future__ import annotations

import random
import socket
import time
from pathlib import Path
from typing import Any

import pytest

import informix_aio
from informix_aio import build_options
from informix_aio._options import ConnectOptions, escape_value, redact
from informix_aio.dialects import InformixDialect, PostgreSQLDialect
from informix_aio.errors import Error, InterfaceError, ProgrammingError
from informix_aio.rows import dict_row
from tests._servers import mariadb_options
from tests.conftest import Backend

INFORMIX_DRIVER = "IBM INFORMIX ODBC DRIVER"


def parse_connection_string(text: str) -> list[tuple[str, str]]:
    """A strict ODBC connection-string parser: ``KEY=value`` pairs separated by ``;``, a value
    in braces may hold anything, ``}}`` inside braces is one ``}``."""
    pairs: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        eq = text.index("=", i)
        key = text[i:eq]
        assert key and ";" not in key and "{" not in key, f"bad key {key!r} in {text!r}"
        i = eq + 1
        if i < n and text[i] == "{":
            i += 1
            value = []
            while True:
                close = text.index("}", i)
                value.append(text[i:close])
                if close + 1 < n and text[close + 1] == "}":
                    value.append("}")
                    i = close + 2
                    continue
                i = close + 1
                break
            parsed = "".join(value)
            assert i == n or text[i] == ";", f"junk after braced value in {text!r}"
        else:
            end = text.find(";", i)
            end = n if end < 0 else end
            parsed = text[i:end]
            assert "{" not in parsed and "}" not in parsed, f"unbraced brace in {text!r}"
            i = end
        pairs.append((key, parsed))
        i += 1  # the ';'
    return pairs


def keywords(options: ConnectOptions) -> dict[str, str]:
    pairs = parse_connection_string(options.connection_string)
    assert len({k.upper() for k, _ in pairs}) == len(pairs), "a keyword appears twice"
    return {k.upper(): v for k, v in pairs}


# -- per dialect ---------------------------------------------------------------------------


def test_informix_options_become_server_host_service_protocol_database_uid_pwd() -> None:
    opts = build_options(
        driver=INFORMIX_DRIVER,
        server="informix",
        host="dbhost",
        service=9088,
        protocol="onsoctcp",
        database="stores",
        user="informix",
        password="in4mix",
    )
    assert opts.connection_string == (
        "DRIVER={IBM INFORMIX ODBC DRIVER};SERVER=informix;HOST=dbhost;SERVICE=9088;"
        "PROTOCOL=onsoctcp;DATABASE=stores;UID=informix;PWD=in4mix;"
    )
    assert opts.dialect is not None
    assert opts.dialect.name == "informix"


@pytest.mark.parametrize("alias", ["port", "service"])
@pytest.mark.parametrize("value", [9088, "9088", "sqlexec"])
def test_informix_port_and_service_are_aliases_for_service(alias: str, value: int | str) -> None:
    given: dict[str, Any] = {alias: value}
    opts = build_options(driver=INFORMIX_DRIVER, server="ol", host="h", **given)
    assert keywords(opts)["SERVICE"] == str(value)
    assert "PORT" not in keywords(opts)


def test_port_and_service_together_are_refused() -> None:
    with pytest.raises(InterfaceError, match="port= or service="):
        build_options(driver=INFORMIX_DRIVER, server="ol", host="h", port=9088, service=9089)


def test_informix_host_without_server_is_refused() -> None:
    with pytest.raises(InterfaceError, match="server="):
        build_options(driver=INFORMIX_DRIVER, host="dbhost", service=9088)


def test_informix_keywords_are_used_when_the_dialect_is_unknown() -> None:
    opts = build_options(dsn="somedsn", server="ol", database="stores")
    assert opts.dialect is None
    assert keywords(opts) == {"DSN": "somedsn", "SERVER": "ol", "DATABASE": "stores"}


def test_informix_dialect_named_explicitly_with_a_dsn() -> None:
    opts = build_options(dsn="ifx", dialect="informix", user="u")
    assert opts.dialect is not None
    assert opts.dialect.name == "informix"
    assert keywords(opts) == {"DSN": "ifx", "UID": "u"}


def test_postgresql_gets_its_default_keywords() -> None:
    opts = build_options(
        driver="PostgreSQL Unicode", host="h", port=5432, database="d", user="u", password="p"
    )
    assert keywords(opts) == {
        "DRIVER": "PostgreSQL Unicode",
        "SERVER": "h",
        "PORT": "5432",
        "DATABASE": "d",
        "UID": "u",
        "PWD": "p",
        "COMMLOG": "0",
        "DEBUG": "0",
        "PROTOCOL": "7.4-0",
    }


@pytest.mark.parametrize("given", ["CommLog", "commlog", "COMMLOG"])
def test_postgresql_default_keyword_is_not_added_when_given_as_keyword(given: str) -> None:
    extra: dict[str, Any] = {given: 1}
    opts = build_options(driver="PostgreSQL Unicode", host="h", **extra)
    kw = keywords(opts)
    assert kw["COMMLOG"] == "1"
    assert kw["DEBUG"] == "0"


def test_postgresql_default_keywords_are_not_added_when_in_the_connection_string() -> None:
    opts = build_options(
        connection_string="DRIVER={PostgreSQL Unicode};Server=h;commlog=1;Protocol=7.4-2"
    )
    kw = keywords(opts)
    assert kw["COMMLOG"] == "1"
    assert kw["PROTOCOL"] == "7.4-2"
    assert kw["DEBUG"] == "0"


def test_postgresql_dialect_is_found_from_the_driver_in_the_connection_string() -> None:
    opts = build_options(connection_string="DRIVER={PostgreSQL Unicode};SERVER=h")
    assert isinstance(opts.dialect, PostgreSQLDialect)


def test_a_dialect_instance_is_used_as_given() -> None:
    dialect = PostgreSQLDialect()
    assert build_options(dsn="x", dialect=dialect).dialect is dialect


def test_mariadb_options_use_server_port() -> None:
    opts = build_options(driver="MariaDB Unicode", host="h", port=3306, database="d")
    assert keywords(opts) == {
        "DRIVER": "MariaDB Unicode",
        "SERVER": "h",
        "PORT": "3306",
        "DATABASE": "d",
    }


def test_sqlite_takes_the_database_file() -> None:
    opts = build_options(driver="SQLite3", database="/tmp/a b.db")
    assert keywords(opts) == {"DRIVER": "SQLite3", "DATABASE": "/tmp/a b.db"}


@pytest.mark.parametrize(
    ("lock_timeout", "ms"), [(0, "1"), (0.25, "250"), (3, "3000"), (float("inf"), "2147483647")]
)
def test_sqlite_lock_timeout_sets_the_drivers_timeout_keyword(lock_timeout: float, ms: str) -> None:
    # The SQLite ODBC driver's own busy handler ignores PRAGMA busy_timeout.
    opts = build_options(driver="SQLite3", database="/tmp/a.db", lock_timeout=lock_timeout)
    assert keywords(opts)["TIMEOUT"] == ms


def test_sqlite_explicit_timeout_keyword_wins_over_lock_timeout() -> None:
    opts = build_options(driver="SQLite3", database="/tmp/a.db", lock_timeout=1, timeout=50)
    assert keywords(opts)["TIMEOUT"] == "50"


def test_sqlite_with_host_is_refused() -> None:
    with pytest.raises(InterfaceError, match="host"):
        build_options(driver="SQLite3", database="/tmp/a.db", host="h")


def test_postgresql_with_informix_protocol_is_refused() -> None:
    with pytest.raises(InterfaceError, match="protocol="):
        build_options(driver="PostgreSQL Unicode", host="h", protocol="onsoctcp")


def test_extra_keywords_are_upper_cased_and_booleans_become_1_or_0() -> None:
    opts = build_options(dsn="d", delimident="y", enablescrollablecursors=True, optofc=False)
    assert keywords(opts) == {
        "DSN": "d",
        "DELIMIDENT": "y",
        "ENABLESCROLLABLECURSORS": "1",
        "OPTOFC": "0",
    }


@pytest.mark.parametrize("bad", ["a;b", "a=b", "{x}", "9lives", ""])
def test_invalid_extra_keyword_names_are_refused(bad: str) -> None:
    with pytest.raises(InterfaceError, match="invalid connection keyword"):
        extra: dict[str, Any] = {bad: "v"}
        build_options(dsn="d", **extra)


def test_connection_string_is_kept_first_and_terminated() -> None:
    opts = build_options(connection_string="DSN=x;;", user="u")
    assert opts.connection_string == "DSN=x;UID=u;"


# -- escaping ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("plain", "plain"),
        ("", ""),
        ("a;b", "{a;b}"),
        ("a=b", "{a=b}"),
        ("{a", "{{a}"),
        ("a}", "{a}}}"),
        ("}", "{}}}"),
        (" lead", "{ lead}"),
        ("trail ", "{trail }"),
        ("in side", "in side"),
    ],
)
def test_escape_value_braces_what_could_end_the_value(value: str, escaped: str) -> None:
    assert escape_value(value) == escaped


NASTY_PASSWORDS = [
    "pw;UID=admin",
    "pw;DRIVER={evil}",
    "}",
    "}}",
    "{",
    "{}",
    "}{",
    "a}b",
    "a}};DSN=x",
    "}; PWD=x",
    "=",
    "==;;",
    " ",
    "  leading and trailing  ",
    "x;",
    ";",
    "{pw}",
    "pw}}}",
    "ñ€😀;{}=",
    "a\tb\nc",
    "PWD=",
    "'quoted';\"double\"",
]


def random_passwords(count: int) -> list[str]:
    rng = random.Random(20240601)
    alphabet = ";{}= =aZ9\\'\"\t"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(count)]


@pytest.mark.parametrize("password", NASTY_PASSWORDS + random_passwords(200))
@pytest.mark.parametrize(
    ("target", "other_keywords"),
    [
        (
            {"driver": INFORMIX_DRIVER, "server": "ol", "host": "h", "service": 9088},
            {"DRIVER", "SERVER", "HOST", "SERVICE", "PROTOCOL"},
        ),
        (
            {"driver": "PostgreSQL Unicode", "host": "h", "port": 5432},
            {"DRIVER", "SERVER", "PORT", "COMMLOG", "DEBUG", "PROTOCOL"},
        ),
        ({"dsn": "somedsn"}, {"DSN"}),
    ],
    ids=["informix", "postgresql", "dsn"],
)
def test_no_password_can_inject_a_keyword(
    password: str, target: dict[str, Any], other_keywords: set[str]
) -> None:
    opts = build_options(**target, database="db", user="u;x", password=password)
    kw = keywords(opts)
    assert set(kw) == other_keywords | {"DATABASE", "UID", "PWD"}
    assert kw["PWD"] == password
    assert kw["UID"] == "u;x"
    assert kw["DATABASE"] == "db"


@pytest.mark.parametrize("value", NASTY_PASSWORDS)
def test_every_option_value_is_escaped(value: str) -> None:
    opts = build_options(
        driver=INFORMIX_DRIVER + value,
        server=value,
        host=value,
        service=value,
        protocol=value,
        database=value,
        user=value,
        password=value,
        delimident=value,
    )
    kw = keywords(opts)
    assert kw == {
        "DRIVER": INFORMIX_DRIVER + value,
        "SERVER": value,
        "HOST": value,
        "SERVICE": value,
        "PROTOCOL": value,
        "DATABASE": value,
        "UID": value,
        "PWD": value,
        "DELIMIDENT": value,
    }


@pytest.mark.parametrize(
    "options",
    [
        {"password": "a\x00b"},
        {"user": "\x00"},
        {"database": "db\x00"},
        {"server": "s\x00"},
        {"delimident": "y\x00"},
        {"driver": "IBM INFORMIX\x00 ODBC DRIVER"},
    ],
)
def test_nul_in_a_value_is_interface_error(options: dict[str, str]) -> None:
    with pytest.raises(InterfaceError, match="NUL"):
        given: dict[str, Any] = {"dsn": "d", **options}
        build_options(**given)


def test_nul_in_dsn_is_interface_error() -> None:
    with pytest.raises(InterfaceError, match="NUL"):
        build_options(dsn="d\x00")


# -- redaction -----------------------------------------------------------------------------

SECRET = "S3cr3t-Pw"


@pytest.mark.parametrize("password", [SECRET + p for p in NASTY_PASSWORDS] + [SECRET])
def test_password_never_shows_in_repr_str_or_redacted(password: str) -> None:
    opts = build_options(
        driver=INFORMIX_DRIVER, server="ol", host="h", service=1, user="u", password=password
    )
    assert escape_value(password) in opts.connection_string
    for shown in (repr(opts), str(opts), opts.redacted):
        assert SECRET not in shown
        assert "PWD=***" in shown
    assert "UID=u" in opts.redacted


def test_redacted_string_still_shows_everything_else() -> None:
    opts = build_options(driver="PostgreSQL Unicode", host="h", port=1, database="d", password="x")
    assert opts.redacted == (
        "DRIVER={PostgreSQL Unicode};SERVER=h;PORT=1;DATABASE=d;PWD=***;"
        "CommLog=0;Debug=0;Protocol=7.4-0;"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DSN=x;PWD=secret;UID=u", "DSN=x;PWD=***;UID=u"),
        ("PWD=secret", "PWD=***"),
        ("DSN=x; pwd = secret ;UID=u", "DSN=x; pwd = ***;UID=u"),
        ("DSN=x;Password={se;cr}}et};UID=u", "DSN=x;Password=***;UID=u"),
        ("DSN=x;UID=u", "DSN=x;UID=u"),
    ],
)
def test_redact_hides_passwords_in_any_connection_string(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_password_in_a_caller_connection_string_is_redacted_in_repr() -> None:
    opts = build_options(connection_string=f"DSN=x;PWD={{{SECRET};x}}")
    assert SECRET not in repr(opts)
    assert SECRET not in opts.redacted


def test_password_given_as_an_extra_keyword_is_redacted() -> None:
    opts = build_options(dsn="x", password_keyword_test="no", pwd=SECRET)
    assert SECRET not in repr(opts)


def assert_no_secret(exc: BaseException) -> None:
    texts = [str(exc), repr(exc), *(repr(a) for a in exc.args)]
    if exc.__cause__ is not None:
        texts += [str(exc.__cause__), repr(exc.__cause__)]
    for text in texts:
        assert SECRET not in text


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_password_is_not_in_the_error_of_a_refused_postgresql_connect() -> None:
    with pytest.raises(Error) as info:
        informix_aio.connect(
            driver="PostgreSQL Unicode",
            host="127.0.0.1",
            port=closed_port(),
            database="x",
            user="u",
            password=SECRET + ";{x}",
            login_timeout=5,
        )
    assert info.value.sqlstate == "08001"
    assert_no_secret(info.value)


def test_password_is_not_in_the_error_of_an_unknown_driver() -> None:
    with pytest.raises(InterfaceError) as info:
        informix_aio.connect(
            driver="NoSuchDriver", server="s", host="h", database="x", user="u", password=SECRET
        )
    assert_no_secret(info.value)


def test_password_is_not_in_the_error_of_an_unknown_dsn() -> None:
    with pytest.raises(InterfaceError) as info:
        informix_aio.connect(dsn="no_such_dsn_here", user="u", password=SECRET)
    assert_no_secret(info.value)


def test_password_is_not_in_the_error_of_a_refused_mariadb_login() -> None:
    opts = mariadb_options()
    if opts is None:
        pytest.skip("no MariaDB reachable")
    with pytest.raises(Error) as info:
        informix_aio.connect(
            driver=opts["driver"],
            host=opts["host"],
            port=opts["port"],
            database=opts["database"],
            user="no_such_user_here",
            password=SECRET,
        )
    assert_no_secret(info.value)


def test_live_postgresql_connect_with_a_password_succeeds_and_hides_it(pg: Backend) -> None:
    # The test server trusts local logins: the password travels but is not checked.
    conn = informix_aio.connect(**pg.connect_kwargs(password=SECRET + "}{;", autocommit=True))
    try:
        assert conn.execute_direct("SELECT 1") in (-1, 1)
        assert SECRET not in repr(conn)
        assert SECRET not in repr(conn.options)
    finally:
        conn.close()


def test_live_sqlite_lock_timeout_bounds_the_wait_for_a_locked_database(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    holder = informix_aio.connect(driver="SQLite3", database=db, autocommit=True)
    waiter = informix_aio.connect(driver="SQLite3", database=db, autocommit=True, lock_timeout=0.2)
    try:
        holder.execute_direct("CREATE TABLE t (x)")
        holder.execute_direct("BEGIN IMMEDIATE")
        start = time.monotonic()
        with pytest.raises(informix_aio.OperationalError):
            waiter.execute_direct("INSERT INTO t VALUES (1)")
        assert time.monotonic() - start < 5
    finally:
        holder.close()
        waiter.close()


# -- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["login_timeout", "lock_timeout"])
def test_negative_timeouts_are_value_errors(option: str) -> None:
    with pytest.raises(ValueError, match=option):
        given: dict[str, Any] = {option: -0.5}
        build_options(dsn="d", **given)


def test_unknown_dialect_is_interface_error() -> None:
    with pytest.raises(InterfaceError, match="unknown dialect"):
        build_options(dsn="d", dialect="oracle")


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"database": "d", "user": "u"},
        {"autocommit": True},
        {"server": "s", "dialect": "postgresql"},
    ],
)
def test_nothing_to_connect_to_is_interface_error(options: dict[str, Any]) -> None:
    with pytest.raises(InterfaceError, match="nothing to connect to"):
        build_options(**options)


def test_host_alone_asks_for_the_informix_server_name() -> None:
    with pytest.raises(InterfaceError, match="server="):
        build_options(host="h")


@pytest.mark.parametrize(("given", "seconds"), [(0.2, 1), (2.4, 2), (2.6, 3), (10, 10)])
def test_login_timeout_is_whole_seconds_at_least_one(given: float, seconds: int) -> None:
    assert build_options(dsn="d", login_timeout=given).login_timeout == seconds


def test_isolation_is_normalized_and_checked() -> None:
    assert build_options(dsn="d", isolation="Committed Read").isolation == "read_committed"
    with pytest.raises(ProgrammingError, match="unknown isolation level"):
        build_options(dsn="d", isolation="snapshot")


def test_the_remaining_options_are_kept() -> None:
    opts = build_options(
        dsn="d",
        autocommit=True,
        lock_timeout=1.5,
        row_factory=dict_row,
        fast_executemany=True,
        attrs_before={2283: 1},
    )
    assert opts.autocommit is True
    assert opts.lock_timeout == 1.5
    assert opts.row_factory is dict_row
    assert opts.fast_executemany is True
    assert dict(opts.attrs_before) == {2283: 1}


# -- the seed guide's form: host= and server=, no driver (Informix defaults) ------------------

SEED: dict[str, Any] = {
    "host": "db.example.com",
    "user": "informix",
    "password": "...",
    "database": "mydb",
    "server": "informix",
}


def test_seed_form_host_and_server_get_ibms_driver_port_9088_and_onsoctcp(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("INFORMIX_AIO_DRIVER", raising=False)
    opts = build_options(**SEED)
    assert opts.connection_string == (
        "DRIVER={IBM INFORMIX ODBC DRIVER};SERVER=informix;HOST=db.example.com;SERVICE=9088;"
        "PROTOCOL=onsoctcp;DATABASE=mydb;UID=informix;PWD=...;"
    )
    assert opts.dialect is not None and opts.dialect.name == "informix"


def test_seed_form_driver_comes_from_the_environment_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INFORMIX_AIO_DRIVER", "Informix CSDK 15")
    assert keywords(build_options(**SEED))["DRIVER"] == "Informix CSDK 15"


def test_seed_form_driver_option_beats_the_environment_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INFORMIX_AIO_DRIVER", "Informix CSDK 15")
    kw = keywords(build_options(**SEED, driver="/opt/informix/lib/cli/iclit09b.so"))
    assert kw["DRIVER"] == "/opt/informix/lib/cli/iclit09b.so"
    assert (kw["SERVICE"], kw["PROTOCOL"]) == ("9088", "onsoctcp")


@pytest.mark.parametrize(
    ("given", "service", "protocol"),
    [
        ({"service": 9090}, "9090", "onsoctcp"),
        ({"port": "sqlexec"}, "sqlexec", "onsoctcp"),
        ({"protocol": "onipcshm"}, "9088", "onipcshm"),
        ({"tls": True, "service": 9091}, "9091", "onsocssl"),
        ({"protocol": "onsocssl", "service": 9091}, "9091", "onsocssl"),
    ],
)
def test_seed_form_service_and_protocol_are_overridable(
    given: dict[str, Any], service: str, protocol: str
) -> None:
    kw = keywords(build_options(**SEED, **given))
    assert (kw["SERVICE"], kw["PROTOCOL"]) == (service, protocol)


def test_server_alone_gets_the_default_driver_and_uses_sqlhosts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("INFORMIX_AIO_DRIVER", raising=False)
    kw = keywords(build_options(server="ol_prod", database="stores"))
    assert kw == {"DRIVER": "IBM INFORMIX ODBC DRIVER", "SERVER": "ol_prod", "DATABASE": "stores"}


def test_a_dsn_gets_no_service_or_protocol_default() -> None:
    # The DSN's odbc.ini section may name them; a keyword would override it.
    kw = keywords(build_options(dsn="ifx", dialect="informix", host="h", server="s"))
    assert kw == {"DSN": "ifx", "SERVER": "s", "HOST": "h"}


def test_tls_without_a_service_is_refused_since_9088_is_the_plain_listener() -> None:
    with pytest.raises(InterfaceError, match="service="):
        build_options(**SEED, tls=True)


def test_tls_with_another_protocol_is_refused() -> None:
    with pytest.raises(InterfaceError, match="onsocssl"):
        build_options(**SEED, tls=True, service=9091, protocol="onsoctcp")


def test_tls_is_refused_for_other_databases() -> None:
    with pytest.raises(InterfaceError, match="Informix option"):
        build_options(driver="PostgreSQL Unicode", host="h", tls=True)


def test_network_timeout_reaches_the_informix_dialect() -> None:
    opts = build_options(**SEED, network_timeout=30)
    assert isinstance(opts.dialect, InformixDialect)
    assert opts.dialect.network_timeout == 30


def test_network_timeout_with_a_bare_dsn_keeps_the_informix_dialect() -> None:
    opts = build_options(dsn="ifx", network_timeout=5)
    assert isinstance(opts.dialect, InformixDialect)
    assert opts.dialect.network_timeout == 5


@pytest.mark.parametrize("bad", [0, -1])
def test_network_timeout_must_be_positive(bad: float) -> None:
    with pytest.raises(ValueError, match="network_timeout"):
        build_options(**SEED, network_timeout=bad)


def test_network_timeout_is_refused_for_other_databases() -> None:
    with pytest.raises(InterfaceError, match="Informix option"):
        build_options(driver="SQLite3", database="x.db", network_timeout=5)


def test_the_informix_dialect_learns_the_client_locale_and_driver() -> None:
    opts = build_options(**SEED, client_locale="en_US.utf8")
    assert isinstance(opts.dialect, InformixDialect)
    assert opts.dialect.client_locale == "en_US.utf8"
    assert opts.dialect.driver == "IBM INFORMIX ODBC DRIVER"
    assert keywords(opts)["CLIENT_LOCALE"] == "en_US.utf8"
    in_string = build_options(connection_string="DRIVER={IBM INFORMIX ODBC DRIVER};CLOC=en_us.819")
    assert isinstance(in_string.dialect, InformixDialect)
    assert in_string.dialect.client_locale == "en_us.819"


def test_settings_do_not_leak_into_a_shared_dialect_instance() -> None:
    shared = InformixDialect()
    opts = build_options(**SEED, dialect=shared, network_timeout=7)
    assert opts.dialect is not shared
    assert shared.network_timeout is None


def test_host_and_server_together_are_refused_where_the_driver_has_one_server_keyword() -> None:
    # psqlODBC's SERVER is the host: dropping either option would connect somewhere else.
    with pytest.raises(InterfaceError, match="host= or server="):
        build_options(driver="PostgreSQL Unicode", host="h1", server="h2")
    kw = keywords(build_options(driver="PostgreSQL Unicode", host="h1", server="h1"))
    assert kw["SERVER"] == "h1"
