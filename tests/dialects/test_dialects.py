"""The other dialects' SQL, isolation names, parameter adaptation and dialect detection."""

from __future__ import annotations

import datetime
import math

import pytest

from informix_aio.dialects import (
    ISOLATION_LEVELS,
    Dialect,
    InformixDialect,
    MariaDBDialect,
    PostgreSQLDialect,
    SQLiteDialect,
    dialect_for_dbms,
    dialect_for_driver,
    get_dialect,
    normalize_isolation,
)
from informix_aio.errors import DataError, InterfaceError, NotSupportedError, ProgrammingError

POSTGRESQL = PostgreSQLDialect()
MARIADB = MariaDBDialect()
SQLITE = SQLiteDialect()
GENERIC = Dialect()

SQL_STANDARD_LEVELS = {
    "read_uncommitted": "READ UNCOMMITTED",
    "read_committed": "READ COMMITTED",
    "repeatable_read": "REPEATABLE READ",
    "serializable": "SERIALIZABLE",
}
INFORMIX_ONLY_LEVELS = ("last_committed", "cursor_stability")

# -- isolation names -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("read_committed", "read_committed"),
        ("READ COMMITTED", "read_committed"),
        ("read-committed", "read_committed"),
        ("  Read Committed  ", "read_committed"),
        ("committed read", "read_committed"),
        ("COMMITTED_READ", "read_committed"),
        ("dirty read", "read_uncommitted"),
        ("READ UNCOMMITTED", "read_uncommitted"),
        ("last committed", "last_committed"),
        ("Cursor Stability", "cursor_stability"),
        ("REPEATABLE READ", "repeatable_read"),
        ("Serializable", "serializable"),
    ],
)
def test_normalize_isolation_accepts_sql_and_informix_spellings(given: str, canonical: str) -> None:
    assert normalize_isolation(given) == canonical


@pytest.mark.parametrize("level", ISOLATION_LEVELS)
def test_normalize_isolation_is_idempotent_on_canonical_names(level: str) -> None:
    assert normalize_isolation(level) == level


@pytest.mark.parametrize("bad", ["snapshot", "", "read", "read committed please", "chaos"])
def test_unknown_isolation_level_is_programming_error_listing_the_choices(bad: str) -> None:
    with pytest.raises(ProgrammingError, match="unknown isolation level") as info:
        normalize_isolation(bad)
    assert "read_committed" in str(info.value)


# -- PostgreSQL ----------------------------------------------------------------------------


@pytest.mark.parametrize(("level", "words"), SQL_STANDARD_LEVELS.items())
def test_postgresql_transaction_isolation_is_set_transaction(level: str, words: str) -> None:
    assert POSTGRESQL.begin_statements(level, False) == [f"SET TRANSACTION ISOLATION LEVEL {words}"]
    assert POSTGRESQL.end_statements(level) == []


@pytest.mark.parametrize(("level", "words"), SQL_STANDARD_LEVELS.items())
def test_postgresql_session_isolation_sets_session_characteristics(level: str, words: str) -> None:
    assert POSTGRESQL.session_isolation(level) == [
        f"SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL {words}"
    ]


def test_postgresql_readonly_transaction_is_set_transaction_read_only() -> None:
    assert POSTGRESQL.supports_readonly
    assert POSTGRESQL.begin_statements(None, True) == ["SET TRANSACTION READ ONLY"]
    assert POSTGRESQL.begin_statements("serializable", True) == [
        "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
        "SET TRANSACTION READ ONLY",
    ]


@pytest.mark.parametrize("level", INFORMIX_ONLY_LEVELS)
@pytest.mark.parametrize("dialect", [POSTGRESQL, MARIADB], ids=lambda d: d.name)
def test_informix_only_isolation_levels_are_not_supported_elsewhere(
    dialect: Dialect, level: str
) -> None:
    with pytest.raises(NotSupportedError, match=level):
        dialect.begin_statements(level, False)
    with pytest.raises(NotSupportedError, match=level):
        dialect.session_isolation(level)


@pytest.mark.parametrize(
    ("lock_timeout", "sql"),
    [
        (2.5, "SET lock_timeout = 2500"),
        (0.0001, "SET lock_timeout = 1"),
        # 0 disables PostgreSQL's lock_timeout: "do not wait" is the shortest wait instead.
        (0, "SET lock_timeout = 1"),
        (math.inf, "SET lock_timeout = 0"),
    ],
)
def test_postgresql_lock_timeout_is_set_lock_timeout_in_ms(lock_timeout: float, sql: str) -> None:
    assert POSTGRESQL.session_setup(lock_timeout=lock_timeout) == [sql]


def test_postgresql_savepoints_are_standard_sql() -> None:
    assert POSTGRESQL.savepoint("s") == "SAVEPOINT s"
    assert POSTGRESQL.rollback_to_savepoint("s") == "ROLLBACK TO SAVEPOINT s"
    assert POSTGRESQL.release_savepoint("s") == "RELEASE SAVEPOINT s"


def test_postgresql_default_keywords_quiet_the_log_and_keep_server_error_semantics() -> None:
    assert dict(POSTGRESQL.default_keywords) == {
        "CommLog": "0",
        "Debug": "0",
        "Protocol": "7.4-0",
    }


def test_postgresql_refuses_the_informix_protocol_option() -> None:
    with pytest.raises(InterfaceError, match="protocol="):
        POSTGRESQL.connection_keywords(
            host="h", port=5432, server=None, database="d", user=None, password=None,
            protocol="onsoctcp",
        )  # fmt: skip


# -- MariaDB -------------------------------------------------------------------------------


@pytest.mark.parametrize(("level", "words"), SQL_STANDARD_LEVELS.items())
def test_mariadb_transaction_isolation_is_set_transaction(level: str, words: str) -> None:
    assert MARIADB.begin_statements(level, False) == [f"SET TRANSACTION ISOLATION LEVEL {words}"]


@pytest.mark.parametrize(("level", "words"), SQL_STANDARD_LEVELS.items())
def test_mariadb_session_isolation_is_set_session_transaction(level: str, words: str) -> None:
    assert MARIADB.session_isolation(level) == [f"SET SESSION TRANSACTION ISOLATION LEVEL {words}"]


def test_mariadb_readonly_transaction_is_set_transaction_read_only() -> None:
    assert MARIADB.begin_statements("read_committed", True) == [
        "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
        "SET TRANSACTION READ ONLY",
    ]


@pytest.mark.parametrize(
    ("lock_timeout", "seconds"), [(2.5, 3), (0, 1), (0.2, 1), (7, 7), (math.inf, 1073741824)]
)
def test_mariadb_lock_timeout_is_innodb_lock_wait_timeout_in_whole_seconds(
    lock_timeout: float, seconds: int
) -> None:
    assert MARIADB.session_setup(lock_timeout=lock_timeout) == [
        f"SET SESSION innodb_lock_wait_timeout = {seconds}"
    ]


# -- SQLite --------------------------------------------------------------------------------


def test_sqlite_serializable_is_its_only_level_and_needs_no_statement() -> None:
    assert SQLITE.begin_statements("serializable", False) == []
    assert SQLITE.session_isolation("serializable") == []
    assert SQLITE.begin_statements(None, False) == []


@pytest.mark.parametrize("level", [lvl for lvl in ISOLATION_LEVELS if lvl != "serializable"])
def test_sqlite_other_isolation_levels_are_not_supported(level: str) -> None:
    with pytest.raises(NotSupportedError, match=level):
        SQLITE.begin_statements(level, False)
    with pytest.raises(NotSupportedError, match=level):
        SQLITE.session_isolation(level)


def test_sqlite_readonly_transaction_is_not_supported() -> None:
    with pytest.raises(NotSupportedError, match="read-only"):
        SQLITE.begin_statements("serializable", True)


@pytest.mark.parametrize(
    ("lock_timeout", "ms"), [(0, 0), (2.5, 2500), (0.1, 100), (math.inf, 2**31 - 1)]
)
def test_sqlite_lock_timeout_is_busy_timeout_in_ms(lock_timeout: float, ms: int) -> None:
    assert SQLITE.session_setup(lock_timeout=lock_timeout) == [f"PRAGMA busy_timeout = {ms}"]


@pytest.mark.parametrize("option", ["host", "port", "server", "user", "password", "protocol"])
def test_sqlite_takes_only_a_database(option: str) -> None:
    given: dict[str, str | None] = dict.fromkeys(
        ("host", "port", "server", "user", "password", "protocol"), None
    )
    given[option] = "x"
    with pytest.raises(InterfaceError, match=option):
        SQLITE.connection_keywords(database="/tmp/db.sqlite", **given)


def test_sqlite_connection_keywords_are_the_database_file() -> None:
    kw = dict.fromkeys(("host", "port", "server", "user", "password", "protocol"))
    assert SQLITE.connection_keywords(database="/tmp/a.db", **kw) == [("DATABASE", "/tmp/a.db")]
    assert SQLITE.connection_keywords(database=None, **kw) == []


# -- generic -------------------------------------------------------------------------------


def test_generic_dialect_refuses_isolation_readonly_and_lock_timeout() -> None:
    with pytest.raises(NotSupportedError):
        GENERIC.begin_statements("serializable", False)
    with pytest.raises(NotSupportedError):
        GENERIC.begin_statements(None, True)
    with pytest.raises(NotSupportedError):
        GENERIC.session_isolation("read_committed")
    with pytest.raises(NotSupportedError, match="lock_timeout"):
        GENERIC.session_setup(lock_timeout=1)
    assert GENERIC.session_setup(lock_timeout=None) == []
    assert GENERIC.begin_statements(None, False) == []


def test_generic_connection_keywords_are_server_port_database_uid_pwd() -> None:
    assert GENERIC.connection_keywords(
        host="h", port=1, server=None, database="d", user="u", password="p", protocol=None
    ) == [("SERVER", "h"), ("PORT", "1"), ("DATABASE", "d"), ("UID", "u"), ("PWD", "p")]


# -- parameters ----------------------------------------------------------------------------

NUL_TRUNCATING = [InformixDialect(), POSTGRESQL, SQLITE]


@pytest.mark.parametrize("dialect", NUL_TRUNCATING, ids=lambda d: d.name)
@pytest.mark.parametrize("position", [0, 1, 4])
def test_string_with_nul_is_data_error_naming_the_parameter(
    dialect: Dialect, position: int
) -> None:
    params: list[object] = ["a", 2, "c", None, b"e"]
    params[position] = "before\x00after"
    with pytest.raises(DataError, match=f"parameter {position + 1} holds a NUL") as info:
        dialect.adapt_params(params)
    assert dialect.name in str(info.value)


@pytest.mark.parametrize("dialect", NUL_TRUNCATING, ids=lambda d: d.name)
def test_bytes_with_nul_are_accepted(dialect: Dialect) -> None:
    assert list(dialect.adapt_params([b"\x00"])) == [b"\x00"]


def test_mariadb_keeps_strings_with_nul() -> None:
    assert list(MARIADB.adapt_params(["a\x00b"])) == ["a\x00b"]


NAIVE = datetime.datetime(2024, 1, 2, 3, 4, 5, 123456)
AWARE = datetime.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=datetime.timezone.utc)


@pytest.mark.parametrize("dialect", [SQLITE, MARIADB], ids=lambda d: d.name)
def test_naive_datetime_travels_as_iso_text_to_keep_microseconds(dialect: Dialect) -> None:
    out = list(dialect.adapt_params([1, NAIVE, "x"]))
    assert out == [1, "2024-01-02 03:04:05.123456", "x"]


@pytest.mark.parametrize(
    "dialect", [SQLITE, MARIADB, POSTGRESQL, InformixDialect(), GENERIC], ids=lambda d: d.name
)
def test_timezone_aware_datetime_and_time_are_refused_by_every_dialect(dialect: Dialect) -> None:
    with pytest.raises(DataError, match="timezone-aware datetime"):
        dialect.adapt_params([1, AWARE])
    aware_time = datetime.time(12, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=5)))
    with pytest.raises(DataError, match="timezone-aware time"):
        dialect.adapt_params([aware_time])
    # Naive values and dates pass.
    values = [NAIVE.date(), NAIVE.time()]
    assert list(dialect.adapt_params(values)) == values


@pytest.mark.parametrize("dialect", [POSTGRESQL, InformixDialect()], ids=lambda d: d.name)
def test_datetime_stays_a_datetime_where_the_driver_keeps_microseconds(dialect: Dialect) -> None:
    assert list(dialect.adapt_params([NAIVE])) == [NAIVE]


def test_adapt_params_does_not_copy_when_nothing_changes() -> None:
    params = ("a", 1, b"b")
    assert SQLITE.adapt_params(params) is params
    assert GENERIC.adapt_params(params) is params


def test_adapt_params_does_not_modify_the_callers_list() -> None:
    params = [NAIVE]
    SQLITE.adapt_params(params)
    assert params == [NAIVE]


# -- detection -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("driver", "name"),
    [
        ("IBM INFORMIX ODBC DRIVER", "informix"),
        ("IBM INFORMIX ODBC DRIVER (64-bit)", "informix"),
        ("iclit09b.so", "informix"),
        ("iclis09b.dylib", "informix"),
        ("/opt/IBM/informix/lib/cli/iclit09b.so", "informix"),
        ("iclit15a.so", "informix"),
        ("libthcli.so", "informix"),
        ("PostgreSQL Unicode", "postgresql"),
        ("PostgreSQL ANSI", "postgresql"),
        ("psqlodbcw.so", "postgresql"),
        ("SQLite3", "sqlite"),
        ("SQLite", "sqlite"),
        ("libsqlite3odbc.so", "sqlite"),
        ("MariaDB Unicode", "mariadb"),
        ("libmaodbc.so", "mariadb"),
        ("MySQL ODBC 8.0 Unicode Driver", "mariadb"),
    ],
)
def test_dialect_for_driver_recognises_names_and_library_paths(driver: str, name: str) -> None:
    found = dialect_for_driver(driver)
    assert found is not None
    assert found.name == name


@pytest.mark.parametrize("driver", [None, "", "Oracle 21 ODBC driver", "FreeTDS"])
def test_dialect_for_driver_unknown_is_none(driver: str | None) -> None:
    assert dialect_for_driver(driver) is None


@pytest.mark.parametrize(
    ("dbms", "name"),
    [
        ("Informix", "informix"),  # DBD::Informix GetInfo.pm: SQL_DBMS_NAME
        ("Informix Dynamic Server", "informix"),  # JDBC product name
        ("IDS/UNIX64", "informix"),  # the DRDA/CLI tag
        ("PostgreSQL", "postgresql"),
        ("SQLite", "sqlite"),
        ("MariaDB", "mariadb"),
        ("MySQL", "mariadb"),
    ],
)
def test_dialect_for_dbms_recognises_sql_dbms_name(dbms: str, name: str) -> None:
    found = dialect_for_dbms(dbms)
    assert found is not None
    assert found.name == name


@pytest.mark.parametrize("dbms", ["", "Oracle", "Microsoft SQL Server"])
def test_dialect_for_dbms_unknown_is_none(dbms: str) -> None:
    assert dialect_for_dbms(dbms) is None


@pytest.mark.parametrize("name", ["informix", "postgresql", "sqlite", "mariadb"])
def test_get_dialect_by_name_case_insensitively(name: str) -> None:
    assert get_dialect(name).name == name
    assert get_dialect(name.upper()).name == name


def test_get_dialect_unknown_name_is_interface_error_listing_the_choices() -> None:
    with pytest.raises(InterfaceError, match="unknown dialect 'oracle'") as info:
        get_dialect("oracle")
    assert "informix" in str(info.value)
