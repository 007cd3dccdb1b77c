"""Informix behaviour proven on the real unixODBC and psqlODBC of this machine.

- The seed guide's ``create_pool(host=..., server=...)`` reaches unixODBC with IBM's driver
  name; no Informix driver is registered here, so the error must name it and the doctor.
- The output-converter mechanism the Informix dialect relies on for INTERVAL, BIGINT (-114),
  LVARCHAR, ROW and collections: pyodbc hands the converter ``SQLGetData(SQL_C_BINARY)`` bytes,
  never NULL, and lets its exception through. psqlODBC reports PostgreSQL INTERVAL columns as
  SQL_WVARCHAR, not as the ODBC interval types 101-113: its ``PG_INTERVAL_AS_SQL_INTERVAL``
  switch is commented out in ``pgtypes.h`` (a compile-time choice, no connection option), and
  it refuses SQL_C_BINARY for an interval column (07006). So the mechanism is shown on the text
  type code psqlODBC does report, carrying Informix interval literals.
"""

from __future__ import annotations

import datetime

import pyodbc
import pytest

import informix_aio
from informix_aio import aio
from informix_aio.dialects._informix_types import YearMonthInterval, interval_converter
from informix_aio.errors import DataError, InterfaceError, OperationalError
from tests.conftest import Backend

SEED = {
    "host": "db.example.com",
    "user": "informix",
    "password": "secret-pw",
    "database": "mydb",
    "server": "informix",
}
SQL_WVARCHAR = -9


def registered_drivers() -> set[str]:
    return {d.lower() for d in pyodbc.drivers()}


@pytest.fixture(autouse=True)
def no_driver_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INFORMIX_AIO_DRIVER", raising=False)


def test_seed_form_without_the_informix_driver_names_it_and_the_doctor() -> None:
    assert "ibm informix odbc driver" not in registered_drivers()
    with pytest.raises((InterfaceError, OperationalError)) as info:
        informix_aio.connect(**SEED, login_timeout=2)
    message = str(info.value)
    assert "'IBM INFORMIX ODBC DRIVER' is not registered" in message
    assert "informix-aio doctor" in message
    assert "INFORMIX_AIO_DRIVER" in message
    assert "secret-pw" not in message


def test_seed_form_names_the_driver_the_environment_variable_chose(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INFORMIX_AIO_DRIVER", "Informix CSDK 15")
    with pytest.raises(InterfaceError, match="'Informix CSDK 15' is not registered"):
        informix_aio.connect(**SEED, login_timeout=2)


def test_undefined_dsn_im002_says_to_run_the_doctor() -> None:
    with pytest.raises(InterfaceError) as info:
        informix_aio.connect(dsn="no_such_informix_dsn", dialect="informix", login_timeout=2)
    assert info.value.sqlstate == "IM002"
    assert "informix-aio doctor" in str(info.value)


def test_missing_driver_library_path_is_named() -> None:
    with pytest.raises(InterfaceError) as info:
        informix_aio.connect(
            driver="/opt/IBM/informix/lib/cli/iclit09b.so", server="ol", login_timeout=2
        )
    assert "/opt/IBM/informix/lib/cli/iclit09b.so does not load" in str(info.value)
    assert "informix-aio doctor" in str(info.value)


def leaves(exc: BaseException) -> list[BaseException]:
    inner = getattr(exc, "exceptions", None)  # an exception group (Python 3.11+ or backport)
    if isinstance(inner, tuple):
        return [leaf for e in inner for leaf in leaves(e)]
    return [exc]


@pytest.mark.anyio
async def test_seed_guide_create_pool_fails_with_the_same_message() -> None:
    pool = aio.create_pool(**SEED, min_size=2, max_size=20)
    try:
        with pytest.raises(BaseException) as info:
            await pool
    finally:
        await pool.close()
    # The pool's opening may group its connections' failures; each one says the same.
    errors = leaves(info.value)
    assert errors
    for err in errors:
        assert isinstance(err, InterfaceError)
        assert "'IBM INFORMIX ODBC DRIVER' is not registered" in str(err)
        assert "informix-aio doctor" in str(err)


# -- the converter mechanism on psqlODBC -------------------------------------------------------


def test_psqlodbc_reports_interval_columns_as_text_not_odbc_interval_types(pg: Backend) -> None:
    with informix_aio.connect(**pg.connect_kwargs(), autocommit=True) as conn:
        table = pg.table("iv")
        conn.execute_direct(f"CREATE TABLE {table} (a interval, b interval day to second)")
        try:
            cur = conn.raw.cursor()
            types = {r.column_name: r.data_type for r in cur.columns(table=table)}
            cur.close()
        finally:
            conn.execute_direct(f"DROP TABLE {table}")
    assert types == {"a": SQL_WVARCHAR, "b": SQL_WVARCHAR}


def test_interval_converters_receive_binary_bytes_and_never_null_on_a_real_driver(
    pg: Backend,
) -> None:
    with informix_aio.connect(**pg.connect_kwargs(), autocommit=True) as conn:
        seen: list[bytes | None] = []
        day_time = interval_converter(110)

        def spy(raw: bytes | None) -> object:
            seen.append(raw)
            return day_time(raw)

        conn.raw.add_output_converter(SQL_WVARCHAR, spy)
        row = conn.fetchrow(
            "SELECT CAST('-9834 15:45:12.345' AS varchar), CAST(NULL AS varchar), "
            "CAST('  5 10:20:30.12345' AS varchar)"
        )
    assert row == (
        -datetime.timedelta(days=9834, hours=15, minutes=45, seconds=12.345),
        None,
        datetime.timedelta(days=5, hours=10, minutes=20, seconds=30.12345),
    )
    assert seen == [b"-9834 15:45:12.345", b"  5 10:20:30.12345"]  # bytes; NULL never passed


def test_year_month_converter_and_its_data_error_on_a_real_driver(pg: Backend) -> None:
    with informix_aio.connect(**pg.connect_kwargs(), autocommit=True) as conn:
        conn.raw.add_output_converter(SQL_WVARCHAR, interval_converter(107))
        assert conn.fetchval("SELECT CAST('7623-11' AS varchar)") == YearMonthInterval(7623, 11)
        with pytest.raises(DataError, match="INTERVAL YEAR TO MONTH") as info:
            conn.fetchval("SELECT CAST('not an interval' AS varchar)")
        assert "ODTYP=1" in str(info.value)
        assert conn.fetchval("SELECT 1") == 1  # the connection is still usable


def test_a_driver_that_refuses_binary_for_a_column_gives_a_cast_hint(pg: Backend) -> None:
    # psqlODBC cannot hand an interval over as SQL_C_BINARY (07006): the Informix dialect's
    # classification of that state points at the cast-to-text escape.
    from informix_aio.dialects import InformixDialect
    from informix_aio.errors import translate

    raw = pyodbc.connect(
        informix_aio.build_options(**pg.connect_kwargs()).connection_string, autocommit=True
    )
    try:
        raw.add_output_converter(SQL_WVARCHAR, interval_converter(110))
        cur = raw.cursor()
        cur.execute("SELECT interval '1 day'")
        with pytest.raises(pyodbc.Error) as info:
            cur.fetchone()
    finally:
        raw.close()
    err = translate(info.value, InformixDialect())
    assert err.sqlstate == "07006"
    assert "cast it to text" in str(err)
