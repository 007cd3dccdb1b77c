"""The Informix dialect on SQL strings alone: every construct renders what IBM's reference
gives (SQLAlchemy's ``AssertsCompiledSQL``), types convert both ways, and URLs, errors and
version strings are read as the library reads them. No server is needed for any of this."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

import pytest
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    Interval,
    LargeBinary,
    MetaData,
    Numeric,
    Sequence,
    SmallInteger,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    cast,
    column,
    create_engine,
    extract,
    func,
    literal,
    select,
    table,
    true,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy import types as sqltypes
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.schema import CreateSequence, CreateTable
from sqlalchemy.testing.assertions import AssertsCompiledSQL

from informix_aio import errors
from informix_aio.dialects import get_dialect, normalize_isolation
from informix_aio.sqlalchemy import (
    InformixDialect_informix_aio,
    InformixDialectAsync_informix_aio,
    url_to_connect_kwargs,
)
from informix_aio.sqlalchemy import types as ifx
from informix_aio.sqlalchemy._reflection import column_type, decode_qualifier
from informix_aio.sqlalchemy.dialect import parse_version, serial_kind

DIALECT = InformixDialect_informix_aio(dbapi=InformixDialect_informix_aio.import_dbapi())
T = table("t", column("a"), column("b"))


_COMPILED: Any = AssertsCompiledSQL()
_DIALECT: Any = DIALECT  # SQLAlchemy's Dialect methods are untyped


def assert_compile(element: Any, expected: str, **kw: Any) -> None:
    """SQLAlchemy's ``AssertsCompiledSQL.assert_compile`` on the Informix dialect."""
    _COMPILED.assert_compile(element, expected, dialect=DIALECT, **kw)


def ddl(*columns: Any, name: str = "x") -> str:
    """CREATE TABLE text for a table of these columns, whitespace collapsed."""
    tbl = Table(name, MetaData(), *columns)
    return " ".join(str(CreateTable(tbl).compile(dialect=DIALECT)).split())


class TestSelect:
    def test_limit_and_offset_render_skip_and_first_after_select(self) -> None:
        assert_compile(
            select(T).limit(5).offset(10),
            "SELECT SKIP __[POSTCOMPILE_param_1] FIRST __[POSTCOMPILE_param_2] t.a, t.b FROM t",
            checkparams={"param_1": 10, "param_2": 5},
        )
        assert_compile(
            select(T).limit(5).offset(10),
            "SELECT SKIP 10 FIRST 5 t.a, t.b FROM t",
            literal_binds=True,
        )

    def test_limit_alone_is_first_and_distinct_follows_it(self) -> None:
        assert_compile(
            select(T.c.a).distinct().limit(3),
            "SELECT FIRST 3 DISTINCT t.a FROM t",
            literal_binds=True,
        )

    def test_fetch_first_is_rendered_as_first(self) -> None:
        assert_compile(select(T.c.a).fetch(7), "SELECT FIRST 7 t.a FROM t", literal_binds=True)

    def test_fetch_with_ties_is_refused(self) -> None:
        with pytest.raises(sa_exc.CompileError, match="WITH TIES"):
            select(T.c.a).order_by(T.c.a).fetch(7, with_ties=True).compile(dialect=DIALECT)

    def test_a_select_without_a_table_reads_from_sysdual(self) -> None:
        assert_compile(
            select(literal(1)),
            'SELECT 1 AS anon_1 FROM sysmaster:"informix".sysdual',
            literal_binds=True,
        )

    def test_values_in_the_select_list_are_rendered_inline(self) -> None:
        # Informix refuses untyped '?' markers in a projection list.
        assert_compile(
            select(literal(1)),
            'SELECT __[POSTCOMPILE_param_1] AS anon_1 FROM sysmaster:"informix".sysdual',
        )

    def test_booleans_are_t_and_f_literals(self) -> None:
        assert_compile(select(T.c.a).where(T.c.b == true()), "SELECT t.a FROM t WHERE t.b = 't'")

    def test_date_time_functions_are_informix_expressions(self) -> None:
        assert_compile(
            select(func.now(), func.current_date(), func.current_timestamp()),
            "SELECT CURRENT YEAR TO FRACTION(5) AS now_1, TODAY AS current_date_1, "
            'CURRENT YEAR TO FRACTION(5) AS current_timestamp_1 FROM sysmaster:"informix".sysdual',
        )

    @pytest.mark.parametrize(
        ("field", "sql"),
        [
            ("year", "YEAR(t.a)"),
            ("month", "MONTH(t.a)"),
            ("day", "DAY(t.a)"),
            ("dow", "WEEKDAY(t.a)"),
            ("hour", "CAST(CAST(EXTEND(t.a, HOUR TO HOUR) AS CHAR(2)) AS INTEGER)"),
        ],
    )
    def test_extract_becomes_informix_date_functions(self, field: str, sql: str) -> None:
        assert_compile(select(extract(field, T.c.a)), f"SELECT {sql} AS anon_1 FROM t")

    def test_modulo_is_the_mod_function(self) -> None:
        assert_compile(
            select(T.c.a).where(T.c.a % 3 == 1), "SELECT t.a FROM t WHERE MOD(t.a, ?) = ?"
        )

    def test_casts_use_informix_type_names(self) -> None:
        assert_compile(
            select(cast(T.c.a, String(10)), cast(T.c.b, String()), cast(T.c.a, DateTime())),
            "SELECT CAST(t.a AS VARCHAR(10)) AS a, CAST(t.b AS LVARCHAR) AS b, "
            "CAST(t.a AS DATETIME YEAR TO FRACTION(5)) AS a__1 FROM t",
        )

    def test_sequence_next_value_is_nextval(self) -> None:
        assert_compile(
            select(Sequence("s").next_value()),
            'SELECT s.NEXTVAL AS next_value_1 FROM sysmaster:"informix".sysdual',
        )

    def test_returning_is_refused(self) -> None:
        tbl = Table("r", MetaData(), Column("id", Integer, primary_key=True))
        with pytest.raises(sa_exc.CompileError):
            tbl.insert().returning(tbl.c.id).compile(dialect=DIALECT)

    def test_savepoints_use_the_librarys_statements(self) -> None:
        compiler = DIALECT.statement_compiler(DIALECT, None)
        library = get_dialect("informix")
        assert compiler.visit_savepoint(_Savepoint("sp1")) == library.savepoint("sp1")
        assert compiler.visit_rollback_to_savepoint(_Savepoint("sp1")) == (
            "ROLLBACK WORK TO SAVEPOINT sp1"
        )
        assert compiler.visit_release_savepoint(_Savepoint("sp1")) == "RELEASE SAVEPOINT sp1"

    def test_reserved_words_are_quoted(self) -> None:
        assert_compile(select(table("user", column("order"))), 'SELECT "user"."order" FROM "user"')


class _Savepoint:
    """What SQLAlchemy hands the savepoint visitors: an object with ``ident``."""

    def __init__(self, ident: str) -> None:
        self.ident = ident


class TestDDL:
    def test_integer_primary_key_is_serial(self) -> None:
        assert ddl(Column("id", Integer, primary_key=True)) == (
            "CREATE TABLE x ( id SERIAL NOT NULL, PRIMARY KEY (id) )"
        )

    def test_bigint_primary_key_is_bigserial(self) -> None:
        assert "id BIGSERIAL NOT NULL" in ddl(Column("id", BigInteger, primary_key=True))

    def test_int8_primary_key_is_serial8(self) -> None:
        assert "id SERIAL8 NOT NULL" in ddl(Column("id", ifx.INT8, primary_key=True))

    def test_smallint_primary_key_is_serial(self) -> None:
        assert "id SERIAL NOT NULL" in ddl(Column("id", SmallInteger, primary_key=True))

    def test_a_primary_key_with_a_sequence_is_a_plain_integer(self) -> None:
        text = ddl(Column("id", Integer, Sequence("x_seq"), primary_key=True))
        assert "id INTEGER NOT NULL" in text

    def test_non_autoincrement_key_is_a_plain_integer(self) -> None:
        assert "id INTEGER NOT NULL" in ddl(
            Column("id", Integer, primary_key=True, autoincrement=False)
        )

    @pytest.mark.parametrize(
        ("type_", "sql"),
        [
            (String(40), "VARCHAR(40)"),
            (String(255), "VARCHAR(255)"),
            (String(256), "LVARCHAR(256)"),
            (String(), "LVARCHAR"),
            (ifx.LVARCHAR(4000), "LVARCHAR(4000)"),
            (Text(), "TEXT"),
            (LargeBinary(), "BYTE"),
            (ifx.BYTE(), "BYTE"),
            (sqltypes.BLOB(), "BLOB"),
            (sqltypes.CLOB(), "CLOB"),
            (Boolean(), "BOOLEAN"),
            (Numeric(10, 2), "DECIMAL(10, 2)"),
            (sqltypes.DECIMAL(16), "DECIMAL(16)"),
            (ifx.MONEY(8, 2), "MONEY(8, 2)"),
            (ifx.MONEY(), "MONEY"),
            (sqltypes.Float(), "FLOAT"),
            (sqltypes.REAL(), "SMALLFLOAT"),
            (BigInteger(), "BIGINT"),
            (ifx.INT8(), "INT8"),
            (DateTime(), "DATETIME YEAR TO FRACTION(5)"),
            (Time(), "DATETIME HOUR TO FRACTION(5)"),
            (sqltypes.Date(), "DATE"),
            (ifx.DATETIME("year", "second"), "DATETIME YEAR TO SECOND"),
            (ifx.DATETIME("hour", "fraction", fraction=3), "DATETIME HOUR TO FRACTION(3)"),
            (Interval(), "INTERVAL DAY(9) TO FRACTION(5)"),
            (ifx.INTERVAL("hour", "second", precision=3), "INTERVAL HOUR(3) TO SECOND"),
            (ifx.INTERVAL("year", "month", precision=4), "INTERVAL YEAR(4) TO MONTH"),
            (sqltypes.Uuid(), "CHAR(32)"),
        ],
        ids=repr,
    )
    def test_column_types_render_informix_names(self, type_: Any, sql: str) -> None:
        assert f"c {sql}" in ddl(Column("c", type_))

    def test_defaults_and_not_null(self) -> None:
        text = ddl(Column("c", String(5), server_default="x", nullable=False))
        assert "c VARCHAR(5) DEFAULT 'x' NOT NULL" in text

    def test_constraint_names_follow_the_constraint(self) -> None:
        meta = MetaData()
        Table("p", meta, Column("id", Integer, primary_key=True))
        child = Table(
            "c",
            meta,
            Column("id", Integer, primary_key=True),
            Column("pid", Integer, ForeignKey("p.id", ondelete="CASCADE", name="fk_c_p")),
            Column("code", String(5)),
            UniqueConstraint("code", name="uq_c_code"),
        )
        text = " ".join(str(CreateTable(child).compile(dialect=DIALECT)).split())
        assert "FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE CONSTRAINT fk_c_p" in text
        assert "UNIQUE (code) CONSTRAINT uq_c_code" in text

    def test_foreign_key_update_actions_are_refused(self) -> None:
        meta = MetaData()
        Table("p", meta, Column("id", Integer, primary_key=True))
        child = Table("c", meta, Column("pid", Integer, ForeignKey("p.id", onupdate="CASCADE")))
        with pytest.raises(sa_exc.CompileError, match="ON UPDATE"):
            CreateTable(child).compile(dialect=DIALECT)

    def test_create_sequence(self) -> None:
        text = str(CreateSequence(Sequence("s", start=5, increment=2)).compile(dialect=DIALECT))
        assert text == "CREATE SEQUENCE s INCREMENT BY 2 START WITH 5"

    def test_bad_qualifiers_are_refused(self) -> None:
        with pytest.raises(ValueError, match="backwards"):
            ifx.DATETIME("second", "year")
        with pytest.raises(ValueError, match="year-month or day-time"):
            ifx.INTERVAL("year", "day")
        with pytest.raises(ValueError, match="FRACTION"):
            ifx.DATETIME("year", "fraction", fraction=6)


class TestTypesBothWays:
    def test_a_timedelta_is_bound_as_interval_text(self) -> None:
        process = ifx.INTERVAL().bind_processor(DIALECT)
        assert process(datetime.timedelta(days=5, hours=10, minutes=20, seconds=30.12345)) == (
            "5 10:20:30.12345"
        )
        assert process(-datetime.timedelta(days=1, seconds=1)) == "-1 00:00:01.00000"

    @pytest.mark.parametrize(
        ("text", "start", "expected"),
        [
            ("5 10:20:30.12345", "day", datetime.timedelta(days=5, seconds=37230.12345)),
            ("  -9834 15:45:12.345", "day", -datetime.timedelta(days=9834, seconds=56712.345)),
            ("06 05:45", "day", datetime.timedelta(days=6, hours=5, minutes=45)),
            ("10:20", "hour", datetime.timedelta(hours=10, minutes=20)),
            ("42", "day", datetime.timedelta(days=42)),
        ],
    )
    def test_interval_text_is_read_as_timedelta(
        self, text: str, start: str, expected: datetime.timedelta
    ) -> None:
        assert ifx.parse_interval(text, start=start) == expected

    def test_interval_results_accept_text_and_timedelta(self) -> None:
        process = ifx.INTERVAL().result_processor(DIALECT, None)
        delta = datetime.timedelta(hours=1)
        assert process("0 01:00:00.00000") == delta
        assert process(delta) == delta
        assert process(None) is None

    def test_year_month_intervals_stay_text(self) -> None:
        assert ifx.INTERVAL("year", "month").result_processor(DIALECT, None) is None

    def test_booleans_are_read_from_bit_and_text(self) -> None:
        process = _DIALECT.type_descriptor(Boolean()).result_processor(DIALECT, None)
        assert [process(v) for v in (True, 0, "1", "t", "f", None)] == [
            True,
            False,
            True,
            True,
            False,
            None,
        ]

    def test_time_columns_read_as_datetime_become_times(self) -> None:
        process = _DIALECT.type_descriptor(Time()).result_processor(DIALECT, None)
        assert process(datetime.datetime(1900, 1, 1, 10, 42, 34, 10)) == datetime.time(
            10, 42, 34, 10
        )

    def test_decimals_stay_decimals(self) -> None:
        process = _DIALECT.type_descriptor(Numeric(10, 2)).result_processor(DIALECT, 3)
        value = decimal.Decimal("1.10")
        assert (process(value) if process else value) == value

    @pytest.mark.parametrize(
        ("coltype", "collength", "xid", "expected"),
        [
            (0, 10, None, "CHAR(10)"),
            (13 + 256, 40, None, "VARCHAR(40)"),
            (2 + 256, 4, None, "INTEGER"),
            (6 + 256, 4, None, "SERIAL"),
            (5, 10 * 256 + 2, None, "DECIMAL(10, 2)"),
            (5, 16 * 256 + 255, None, "DECIMAL(16)"),
            (8, 8 * 256 + 2, None, "MONEY(8, 2)"),
            (10, 19 * 256 + 0 * 16 + 15, None, "DATETIME YEAR TO FRACTION(5)"),
            (10, 8 * 256 + 6 * 16 + 10, None, "DATETIME HOUR TO SECOND"),
            (14, 14 * 256 + 4 * 16 + 10, None, "INTERVAL DAY TO SECOND"),
            (11, 56, None, "BYTE"),
            (12, 56, None, "TEXT"),
            (17, 10, None, "INT8"),
            (52, 8, None, "BIGINT"),
            (53, 8, None, "BIGSERIAL"),
            (41, 1, 5, "BOOLEAN"),
            (41, 72, 10, "BLOB"),
            (41, 72, 11, "CLOB"),
            (40, 2048, 1, "LVARCHAR(2048)"),
        ],
    )
    def test_catalog_column_types_are_decoded(
        self, coltype: int, collength: int, xid: int | None, expected: str
    ) -> None:
        type_ = column_type(coltype, collength, xid)
        assert DIALECT.type_compiler_instance.process(type_) == expected

    def test_datetime_qualifier_codes_are_decoded(self) -> None:
        assert decode_qualifier(19 * 256 + 0 * 16 + 15) == ("year", "fraction", 5, 19)
        assert decode_qualifier(8 * 256 + 6 * 16 + 10) == ("hour", "second", None, 8)

    def test_the_serial_kind_picks_the_dbinfo_option(self) -> None:
        assert serial_kind(Integer()) == "serial"
        assert serial_kind(BigInteger()) == "bigserial"
        assert serial_kind(ifx.SERIAL8()) == "serial8"


class TestDriver:
    def test_the_url_carries_every_connection_option(self) -> None:
        url = make_url(
            "informix+informix_aio://scott:tiger@dbhost:9088/stores?server=ol_informix"
            "&protocol=onsocssl&client_locale=en_US.utf8&db_locale=en_US.utf8"
            "&login_timeout=5&lock_timeout=10&autocommit=true&isolation=last_committed"
        )
        assert url_to_connect_kwargs(url) == {
            "dialect": "informix",
            "host": "dbhost",
            "port": 9088,
            "database": "stores",
            "user": "scott",
            "password": "tiger",
            "server": "ol_informix",
            "protocol": "onsocssl",
            "isolation": "last_committed",
            "login_timeout": 5.0,
            "lock_timeout": 10.0,
            "autocommit": True,
            "driver": "IBM INFORMIX ODBC DRIVER",
            "client_locale": "en_US.utf8",
            "db_locale": "en_US.utf8",
            "DELIMIDENT": "y",
        }

    def test_a_dsn_or_raw_string_replaces_the_default_driver(self) -> None:
        by_dsn = url_to_connect_kwargs(make_url("informix+informix_aio://u:p@/?dsn=stores"))
        assert by_dsn["dsn"] == "stores" and "driver" not in by_dsn
        raw = url_to_connect_kwargs(
            make_url("informix:///?odbc_connect=DSN%3Dstores%3BDELIMIDENT%3Dn")
        )
        assert raw == {"dialect": "informix", "connection_string": "DSN=stores;DELIMIDENT=n"}

    def test_command_timeout_is_an_async_option(self) -> None:
        url = make_url("informix+informix_aio://u:p@h/db?server=s&command_timeout=2.5")
        assert url_to_connect_kwargs(url, is_async=True)["command_timeout"] == 2.5
        with pytest.raises(ValueError, match="async driver only"):
            url_to_connect_kwargs(url)

    def test_the_url_connect_kwargs_build_valid_library_options(self) -> None:
        from informix_aio import build_options

        url = make_url("informix+informix_aio://u:p@h:9088/db?server=s&client_locale=en_US.utf8")
        options = build_options(**url_to_connect_kwargs(url))
        assert "SERVICE=9088" in options.connection_string
        assert "CLIENT_LOCALE=en_US.utf8" in options.connection_string
        assert "DELIMIDENT=y" in options.connection_string

    @pytest.mark.parametrize(
        "name", ["informix", "informix+informix_aio", "informix+informix_aio_async"]
    )
    def test_entry_points_and_the_async_engine_pick_the_drivers(self, name: str) -> None:
        url = f"{name}://u:p@h:9088/db?server=s"
        if name.endswith("_async"):
            assert isinstance(create_engine(url).dialect, InformixDialectAsync_informix_aio)
        else:
            assert type(create_engine(url).dialect) is InformixDialect_informix_aio
        engine = create_async_engine(url)
        assert isinstance(engine.sync_engine.dialect, InformixDialectAsync_informix_aio)

    def test_is_disconnect_follows_the_library_classification(self) -> None:
        lost = errors.OperationalError("connection broken (-25582)", is_disconnect=True)
        locked = errors.OperationalError("record locked (-107)", is_transient=True)
        closed = errors.InterfaceError("the connection is closed")
        assert DIALECT.is_disconnect(lost, None, None)
        assert not DIALECT.is_disconnect(locked, None, None)
        assert DIALECT.is_disconnect(closed, None, None)

    @pytest.mark.parametrize(
        ("text", "version"),
        [
            ("IBM Informix Dynamic Server Version 14.10.FC9", (14, 10, "FC9")),
            ("IBM Informix Dynamic Server Version 12.10.FC12W1", (12, 10, "FC12W1")),
            ("Informix Dynamic Server Version 11.70.UC8", (11, 70, "UC8")),
            ("no version", ()),
        ],
    )
    def test_server_versions_are_parsed(self, text: str, version: tuple[Any, ...]) -> None:
        assert parse_version(text) == version

    def test_every_isolation_level_maps_to_a_set_isolation_statement(self) -> None:
        library = get_dialect("informix")
        levels = [lv for lv in _DIALECT.get_isolation_level_values(None) if lv != "AUTOCOMMIT"]
        statements = {lv: library.session_isolation(normalize_isolation(lv)) for lv in levels}
        assert statements["LAST COMMITTED"] == ["SET ISOLATION TO COMMITTED READ LAST COMMITTED"]
        assert statements["READ UNCOMMITTED"] == ["SET ISOLATION TO DIRTY READ"]
        assert all(s[0].startswith("SET ISOLATION TO ") for s in statements.values())
