"""The Informix dialect: the SQLCODE classification table of INFORMIX.md, and its SQL.

No Informix server or CSDK can run here, so every driver error below is built the way pyodbc
builds it on Linux (``args == (sqlstate, "[SQLSTATE] <driver text> (<native>) (<SQLFunc>)")``,
first diagnostic record only, class chosen by pyodbc from the SQLSTATE) from the texts gathered
in the project's research notes. Each text is tagged with its provenance:

- REAL: seen in a real log, trace or test expectation of the Informix ODBC driver (or of IBM's
  .NET provider for the same server, which carries the same server texts);
- FIXTURE: copied from another project's test fixture (reecetech/django_informixdb);
- DOC: IBM/HCL documentation;
- CATALOG: a message template from an error catalogue, object names filled in by us;
- INFERRED: SQLSTATE (or text) deduced, no trace found.

Messages from the server carry ``[Informix][Informix ODBC Driver][Informix]``, messages from
the driver itself (native -11xxx) carry ``[Informix][Informix ODBC Driver]`` (both REAL).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import pyodbc
import pytest

from informix_aio.dialects import InformixDialect, get_dialect
from informix_aio.dialects.informix import (
    INFORMIX_SQL_TYPES,
    SQL_INFX_ATTR_DEFAULT_UDT_FETCH_TYPE,
    SQL_INFX_ATTR_IDSISAMERRMSG,
    SQL_INFX_ATTR_LO_AUTOMATIC,
    SQL_INFX_ATTR_ODBC_TYPES_ONLY,
    SQL_INFX_ATTR_RECVTIMEOUT,
    SQL_INFX_ATTR_SENDTIMEOUT,
    describe_transaction_code,
)
from informix_aio.errors import (
    CommandTimeout,
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    QueryCanceled,
    translate,
)
from tests.dialects import pyodbc_error

SRV = "[Informix][Informix ODBC Driver][Informix]"  # error raised by the server (REAL)
DRV = "[Informix][Informix ODBC Driver]"  # error raised by the driver itself (REAL)

INFORMIX = InformixDialect()


def informix_error(
    sqlstate: str, text: str, code: int, function: str = "SQLExecDirectW"
) -> pyodbc.Error:
    """What pyodbc raises on Linux for one Informix diagnostic record."""
    return pyodbc_error(sqlstate, f"[{sqlstate}] {text} ({code}) ({function})")


@dataclass(frozen=True)
class Case:
    """One row of the classification table: the driver's error and what it must become."""

    sqlstate: str
    text: str
    code: int
    expected: type[Error]
    function: str = "SQLExecDirectW"
    disconnect: bool = False
    transient: bool = False


def case(id: str, *args: Any, **kwargs: Any) -> Any:
    return pytest.param(Case(*args, **kwargs), id=id)


# Every SQLCODE of INFORMIX.md's "SQLCODEs a driver must classify" table, plus the ones the
# brief names (-11060, -23101, data conversion codes, -11094).
CLASSIFICATION_TABLE = [
    # -- ProgrammingError: syntax / missing objects ------------------------------------------
    # REAL (42000 and text: PDO_INFORMIX test expectation)
    case("minus_201_syntax_error_is_programming_error",
         "42000", f"{SRV}A syntax error has occurred.", -201, ProgrammingError),
    # REAL (42S02 and text: Oracle HS gateway log, SAS.Planet)
    case("minus_206_table_not_in_database_is_programming_error",
         "42S02", f"{SRV}The specified table (nosuchtable) is not in the database.", -206,
         ProgrammingError),
    # CATALOG text, INFERRED 42S22
    case("minus_217_column_not_found_is_programming_error",
         "42S22",
         f"{SRV}Column (nosuchcol) not found in any table in the query (or SLV is undefined).",
         -217, ProgrammingError),
    # CATALOG text (GBase, not verified against IBM's), INFERRED HY000
    case("minus_286_is_programming_error",
         "HY000", f"{SRV}Default value of the primary key column id is NULL.", -286,
         ProgrammingError),
    # CATALOG text, INFERRED 42S01 (itoxmsg S0001)
    case("minus_310_table_already_exists_is_programming_error",
         "42S01", f"{SRV}Table (informix.users) already exists in database.", -310,
         ProgrammingError),
    # -- IntegrityError ------------------------------------------------------------------------
    # REAL (the brief's and INFORMIX.md's example; 23000 REAL)
    case("minus_239_duplicate_unique_index_is_integrity_error",
         "23000",
         f"{SRV}Could not insert new row - duplicate value in a UNIQUE INDEX column "
         "(Unique Index:ix_users_email).", -239, IntegrityError),
    # REAL (HCL .NET provider text; 23000 REAL)
    case("minus_268_unique_constraint_violated_is_integrity_error",
         "23000", f"{SRV}Unique constraint (informix.u100_1) violated.", -268, IntegrityError),
    # REAL (ODBC text)
    case("minus_691_missing_parent_key_is_integrity_error",
         "23000",
         f"{SRV}Missing key in referenced table for referential constraint "
         "(informix.fk_ref_2934_1753).", -691, IntegrityError),
    # REAL (.NET text, itoxmsg 23000)
    case("minus_692_key_still_referenced_is_integrity_error",
         "23000", f"{SRV}Key value for constraint (informix.u100_1) is still being referenced.",
         -692, IntegrityError),
    # REAL (.NET text, itoxmsg 23000)
    case("minus_391_null_into_not_null_column_is_integrity_error",
         "23000", f"{SRV}Cannot insert a null into column (p1.v).", -391, IntegrityError),
    # CATALOG text, INFERRED HY000: must be IntegrityError by SQLCODE, not by SQLSTATE
    case("minus_703_null_in_primary_key_is_integrity_error_despite_hy000",
         "HY000", f"{SRV}Primary key on table (users) has a field with a null key value.", -703,
         IntegrityError),
    # REAL (.NET text, itoxmsg 23000)
    case("minus_530_check_constraint_failed_is_integrity_error",
         "23000", f"{SRV}Check constraint (informix.c100_4) failed.", -530, IntegrityError),
    # -- row access failures: the ISAM code is unknown through pyodbc -> transient -----------
    # CATALOG texts, INFERRED HY000; no ISAM text, as pyodbc shows them by default.
    case("minus_243_position_failed_without_isam_is_transient_operational_error",
         "HY000", f"{SRV}Could not position within a table (informix.users).", -243,
         OperationalError, transient=True),
    case("minus_244_physical_read_failed_without_isam_is_transient_operational_error",
         "HY000", f"{SRV}Could not do a physical-order read to fetch next row.", -244,
         OperationalError, transient=True),
    case("minus_245_index_position_failed_without_isam_is_transient_operational_error",
         "HY000", f"{SRV}Could not position within a file via an index.", -245,
         OperationalError, transient=True),
    case("minus_250_read_for_update_failed_without_isam_is_transient_operational_error",
         "HY000", f"{SRV}Cannot read record from file for update.", -250, OperationalError,
         transient=True),
    case("minus_271_insert_failed_without_isam_is_transient_operational_error",
         "HY000", f"{SRV}Could not insert new row into the table.", -271, OperationalError,
         transient=True),
    case("minus_346_update_failed_without_isam_is_transient_operational_error",
         "HY000", f"{SRV}Could not update a row in the table.", -346, OperationalError,
         transient=True),
    # CATALOG text, INFERRED HY000: the common lock conflict, a lock error in itself
    case("minus_233_record_locked_by_another_user_is_transient_operational_error",
         "HY000", f"{SRV}Cannot read record that is locked by another user.", -233,
         OperationalError, transient=True),
    # CATALOG text, INFERRED HY000: a client misuse, the connection is fine
    case("minus_439_server_busy_with_an_sql_task_is_not_a_disconnect",
         "HY000", f"{SRV}Database server is currently processing an SQL task.", -439,
         DatabaseError),
    # DOC (S1008/-11065 "Operation canceled", SQLFetch after SQLCancel)
    case("minus_11065_operation_canceled_is_query_canceled",
         "HY008", f"{DRV}Operation canceled", -11065, QueryCanceled, function="SQLFetch"),
    # -- cancellation ------------------------------------------------------------------------
    # CATALOG text, INFERRED HY000 (pyodbc raises plain pyodbc.Error)
    case("minus_213_statement_interrupted_is_query_canceled",
         "HY000", f"{SRV}Statement interrupted by user.", -213, QueryCanceled),
    # -- transaction state (CATALOG texts, INFERRED HY000) ----------------------------------
    case("minus_255_not_in_transaction_is_programming_error",
         "HY000", f"{SRV}Not in transaction.", -255, ProgrammingError),
    case("minus_535_already_in_transaction_is_programming_error",
         "HY000", f"{SRV}Already in transaction.", -535, ProgrammingError),
    case("minus_256_transaction_not_available_is_not_supported_error",
         "HY000", f"{SRV}Transaction not available.", -256, NotSupportedError),
    # -- connection lost / cannot connect -----------------------------------------------------
    # REAL (08004 and text: SAS.Planet; django_informixdb fixture)
    case("minus_908_connect_failed_is_disconnect",
         "08004", f"{SRV}Attempt to connect to database server (ol_informix1170) failed.", -908,
         OperationalError, function="SQLDriverConnect", disconnect=True),
    # CATALOG text, itoxmsg 08004
    case("minus_930_cannot_connect_is_disconnect",
         "08004", f"{SRV}Cannot connect to database server (ol_informix1170).", -930,
         OperationalError, function="SQLDriverConnect", disconnect=True),
    # FIXTURE (HY000 and text)
    case("minus_27001_read_error_during_connect_is_disconnect",
         "HY000", f"{SRV}Read error occurred during connection attempt.", -27001,
         OperationalError, function="SQLDriverConnect", disconnect=True),
    # CATALOG text, INFERRED HY000
    case("minus_27002_server_quiescent_is_disconnect",
         "HY000", f"{SRV}No connections are allowed in quiescent mode.", -27002,
         OperationalError, function="SQLDriverConnect", disconnect=True),
    # CATALOG text, INFERRED HY000
    case("minus_25580_network_function_error_is_disconnect",
         "HY000", f"{SRV}System error occurred in network function.", -25580,
         OperationalError, disconnect=True),
    # CATALOG text, INFERRED HY000 (the driver may say 08S01 instead)
    case("minus_25582_network_connection_broken_is_disconnect",
         "HY000", f"{SRV}Network connection is broken.", -25582, OperationalError,
         disconnect=True),
    # REAL (08S01, -11020 and text: Oracle HS log, SQL Relay source)
    case("minus_11020_communication_link_failure_is_disconnect",
         "08S01", f"{DRV}Communication link failure.", -11020, OperationalError,
         disconnect=True),
    # DOC (08S01 and text: HCL SQLCancel page)
    case("minus_11301_protocol_error_connection_closed_is_disconnect",
         "08S01", f"{DRV}A protocol error has been detected. Current connection is closed.",
         -11301, OperationalError, disconnect=True),
    # INFERRED: no text found for -457 / -459; the classifier reads only the SQLCODE
    case("minus_457_server_terminated_is_disconnect",
         "HY000", f"{SRV}Database server terminated unexpectedly.", -457, OperationalError,
         disconnect=True),
    case("minus_459_server_shut_down_is_disconnect",
         "HY000", f"{SRV}Database server was shut down.", -459, OperationalError,
         disconnect=True),
    # -- authentication: pyodbc raises InterfaceError for 28000, ours is OperationalError ---
    # FIXTURE (28000 and text, user elided as in the fixture)
    case("minus_951_unknown_user_or_bad_password_is_operational_error",
         "28000",
         f"{SRV}Incorrect password or user is not known on the database server.", -951,
         OperationalError, function="SQLDriverConnect"),
    # CATALOG text, INFERRED 28000
    case("minus_952_wrong_password_is_operational_error",
         "28000", f"{SRV}User (bob)'s password is not correct for the database server.", -952,
         OperationalError, function="SQLDriverConnect"),
    # -- driver not capable ------------------------------------------------------------------
    # REAL text (IfxPy#3), INFERRED HYC00 (doc S1C00)
    case("minus_11092_driver_not_capable_is_not_supported_error",
         "HYC00", f"{DRV}Driver not capable.", -11092, NotSupportedError, function="SQLEndTran"),
    # -- data conversion (CATALOG texts) -----------------------------------------------------
    case("minus_1213_character_to_numeric_conversion_is_data_error",
         "HY000", f"{SRV}A character to numeric conversion process failed.", -1213, DataError),
    # itoxmsg 22003: pyodbc already raises DataError; we keep it
    case("minus_1226_decimal_exceeds_precision_is_data_error",
         "22003", f"{SRV}Decimal or money value exceeds maximum precision.", -1226, DataError),
    case("minus_1262_non_numeric_character_in_datetime_is_data_error",
         "HY000", f"{SRV}Non-numeric character in datetime or interval.", -1262, DataError),
    case("minus_1264_extra_characters_at_end_of_datetime_is_data_error",
         "HY000", f"{SRV}Extra characters at the end of a datetime or interval.", -1264,
         DataError),
    # -- query timeout: DOC (-11094, S1T00 -> HYT00 under ODBC 3) ----------------------------
    case("minus_11094_time_out_expired_is_command_timeout",
         "HYT00", f"{DRV}Time-out expired", -11094, CommandTimeout, transient=True),
    # -- unmapped server errors keep the generic class ---------------------------------------
    # REAL (-959 HY000, Informix demo README): nothing in the table, so DatabaseError.
    case("minus_959_unmapped_internal_rollback_stays_database_error",
         "HY000", f"{SRV}The current transaction has been rolled back due to an internal error.",
         -959, DatabaseError),
    # REAL (-609 HY000)
    case("minus_609_unmapped_stays_database_error",
         "HY000", f"{SRV}Illegal attempt to use Text/Byte host variable.", -609, DatabaseError),
]  # fmt: skip

# The SQLCODEs of INFORMIX.md's table (ISAM rows excluded: they are secondary codes).
INFORMIX_MD_SQLCODES = frozenset(
    {
        -201, -206, -217, -286, -310, -239, -268, -691, -692, -391, -703, -530, -233,
        -243, -244, -245, -250, -271, -346, -213, -255, -256, -535,
        -908, -930, -27001, -27002, -25580, -25582, -11020, -11301, -457, -459,
        -951, -952, -11092,
    }
)  # fmt: skip


def test_classification_table_covers_every_sqlcode_of_informix_md() -> None:
    covered = {p.values[0].code for p in CLASSIFICATION_TABLE}
    assert INFORMIX_MD_SQLCODES - covered == set()


@pytest.mark.parametrize("c", CLASSIFICATION_TABLE)
def test_informix_sqlcode_becomes_its_class_with_the_drivers_facts(c: Case) -> None:
    exc = informix_error(c.sqlstate, c.text, c.code, c.function)
    err = translate(exc, INFORMIX)
    assert type(err) is c.expected
    assert err.native_code == c.code
    assert err.sqlstate == c.sqlstate
    assert err.is_disconnect is c.disconnect
    assert err.is_transient is c.transient
    assert err.isam_code is None
    # The driver's text is kept whole; at most a hint is appended.
    assert str(err).startswith(exc.args[1])
    assert err.__cause__ is exc


def test_informix_dialect_is_found_by_name() -> None:
    assert isinstance(get_dialect("Informix"), InformixDialect)


# -- cases the brief spells out ------------------------------------------------------------


def test_duplicate_unique_index_minus_239_is_integrity_error() -> None:
    exc = pyodbc.IntegrityError(
        "23000",
        "[23000] [Informix][Informix ODBC Driver][Informix]Could not insert new row - duplicate "
        "value in a UNIQUE INDEX column (Unique Index:ix_users_email). (-239) (SQLExecDirectW)",
    )
    err = translate(exc, INFORMIX)
    assert isinstance(err, IntegrityError)
    assert (err.native_code, err.sqlstate, err.isam_code) == (-239, "23000", None)
    assert not err.is_transient and not err.is_disconnect
    assert err.__cause__ is exc


def test_bad_password_minus_951_is_operational_error_although_pyodbc_says_interface_error() -> None:
    exc = informix_error(
        "28000",
        f"{SRV}Incorrect password or user is not known on the database server.",
        -951,
        "SQLDriverConnect",
    )
    assert type(exc) is pyodbc.InterfaceError  # what pyodbc itself makes of 28000
    err = translate(exc, INFORMIX)
    assert type(err) is OperationalError
    assert not isinstance(err, InterfaceError)


def test_statement_interrupted_minus_213_is_query_canceled_not_timeout() -> None:
    err = translate(informix_error("HY000", f"{SRV}Statement interrupted by user.", -213), INFORMIX)
    assert isinstance(err, QueryCanceled)
    assert isinstance(err, OperationalError)
    assert not isinstance(err, CommandTimeout)
    assert not isinstance(err, TimeoutError)


def test_time_out_expired_minus_11094_is_command_timeout_and_a_timeout_error() -> None:
    err = translate(informix_error("HYT00", f"{DRV}Time-out expired", -11094), INFORMIX)
    assert isinstance(err, CommandTimeout)
    assert isinstance(err, QueryCanceled)
    assert isinstance(err, TimeoutError)


@pytest.mark.parametrize(
    ("code", "text", "expected", "explains"),
    [
        (-255, "Not in transaction.", ProgrammingError, "not in a transaction"),
        (-535, "Already in transaction.", ProgrammingError, "already in a transaction"),
        (-256, "Transaction not available.", NotSupportedError, "no logging"),
    ],
)
def test_transaction_state_codes_carry_a_clear_explanation(
    code: int, text: str, expected: type[Error], explains: str
) -> None:
    err = translate(informix_error("HY000", f"{SRV}{text}", code), INFORMIX)
    assert type(err) is expected
    assert explains in str(err)
    assert describe_transaction_code(code) is not None
    assert explains in (describe_transaction_code(code) or "")


def test_describe_transaction_code_is_none_for_other_codes() -> None:
    assert describe_transaction_code(-201) is None


def test_garbled_minus_11060_from_ucs4_driver_is_interface_error_with_ucs2_hint() -> None:
    # REAL (pyodbc #1433): pyodbc 5 + a driver left at UCS-4 garbles SQLSTATE and text alike.
    exc = pyodbc.Error("H000", "[H000] [ (-11060) (SQLDriverConnect)")
    err = translate(exc, INFORMIX)
    assert type(err) is InterfaceError
    assert err.native_code == -11060
    assert "UNICODE=UCS-2" in str(err)
    assert "[ODBC]" in str(err)
    assert err.__cause__ is exc


def test_garbled_minus_11060_read_as_utf16_is_interface_error_with_ucs2_hint() -> None:
    # REAL (pyodbc #1392, encoding='utf-16-le'): the UTF-8 bytes of the text read as UTF-16.
    exc = pyodbc.Error(
        "H00o\x03",
        "[H00o\x03] 䥛普牯業嵸䥛普牯業⁸䑏䍂䐠楲敶嵲敇敮慲\u206c牥潲\u2e72 (-11060) (SQLDriverConnect)",
    )
    err = translate(exc, INFORMIX)
    assert type(err) is InterfaceError
    assert err.native_code == -11060
    assert "UNICODE=UCS-2" in str(err)


def test_unspecified_system_error_minus_23101_hints_at_sqlhosts_and_locale() -> None:
    # REAL (django_informixdb PR #5): note the two spaces after '='.
    exc = pyodbc.Error(
        "HY000",
        "[HY000] [Informix][Informix ODBC Driver][Informix]Unspecified System Error =  -23101. "
        "(-23101) (SQLDriverConnect)",
    )
    err = translate(exc, INFORMIX)
    assert isinstance(err, OperationalError)
    assert err.native_code == -23101
    assert "INFORMIXSQLHOSTS" in str(err)
    assert "LOCALE" in str(err)


@pytest.mark.parametrize("code", [-908, -930])
def test_cannot_connect_codes_hint_at_server_host_and_service(code: int) -> None:
    err = translate(
        informix_error("08004", f"{SRV}Cannot connect to database server (ol).", code,
                       "SQLDriverConnect"),
        INFORMIX,
    )  # fmt: skip
    assert err.is_disconnect
    assert "service" in str(err)


# -- ISAM: the secondary code -------------------------------------------------------------

ISAM_DEPENDENT = {
    -243: "Could not position within a table (informix.users).",
    -244: "Could not do a physical-order read to fetch next row.",
    -245: "Could not position within a file via an index.",
    -250: "Cannot read record from file for update.",
    -271: "Could not insert new row into the table.",
    -346: "Could not update a row in the table.",
}

# How the lock ISAM errors read (CATALOG; the catalogue has two spaces after "ISAM error:").
LOCK_ISAM_TEXTS = [
    pytest.param("ISAM error:  record is locked.", -107, id="record_locked_107"),
    pytest.param("ISAM error:  the file is locked.", -113, id="file_locked_113"),
    pytest.param("ISAM error: deadlock detected.", -143, id="deadlock_143"),
    pytest.param("ISAM error: Lock Timeout Expired.", -154, id="lock_timeout_154"),
    pytest.param("ISAM error: key value locked.", -144, id="key_value_locked_144"),
]
# The same errors shown by their code after the ISAM marker.
LOCK_ISAM_CODES = [
    pytest.param("ISAM error: record is locked. (-107)", -107, id="code_107"),
    pytest.param("ISAM error: (-113)", -113, id="code_113"),
    pytest.param("ISAM error: (-143)", -143, id="code_143"),
    pytest.param("ISAM error: (-154)", -154, id="code_154"),
]
NON_LOCK_ISAM = [
    pytest.param("ISAM error:  duplicate value for a record with unique key.", -100, id="dup_100"),
    pytest.param("ISAM error:  no record found.", -111, id="no_record_111"),
    pytest.param("ISAM error: no more locks", -134, id="no_more_locks_134"),
]


@pytest.mark.parametrize("code", sorted(ISAM_DEPENDENT))
def test_isam_dependent_code_is_transient_when_the_isam_code_is_unknown(code: int) -> None:
    # The design decision (informix.py): pyodbc reads neither SQL_DIAG_ISAM_ERROR nor, on
    # Linux, a second diagnostic record, and these row-access failures are almost always lock
    # conflicts. So an unknown ISAM code counts as "probably a lock": retryable.
    err = translate(informix_error("HY000", f"{SRV}{ISAM_DEPENDENT[code]}", code), INFORMIX)
    assert type(err) is OperationalError
    assert err.isam_code is None
    assert err.is_transient
    assert not err.is_disconnect


@pytest.mark.parametrize("code", sorted(ISAM_DEPENDENT))
@pytest.mark.parametrize(("isam_text", "isam"), LOCK_ISAM_TEXTS + LOCK_ISAM_CODES)
def test_isam_dependent_code_with_appended_lock_isam_error_is_transient(
    code: int, isam_text: str, isam: int
) -> None:
    # SQL_INFX_ATTR_IDSISAMERRMSG: the driver appends the ISAM text to record 1, before
    # pyodbc's "(native) (SQLFunc)" suffix.
    exc = informix_error("HY000", f"{SRV}{ISAM_DEPENDENT[code]} {isam_text}", code)
    err = translate(exc, INFORMIX)
    assert type(err) is OperationalError
    assert err.native_code == code
    assert err.isam_code == isam
    assert err.is_transient


@pytest.mark.parametrize("code", sorted(ISAM_DEPENDENT))
@pytest.mark.parametrize(("isam_text", "isam"), NON_LOCK_ISAM)
def test_isam_dependent_code_with_a_non_lock_isam_error_is_not_transient(
    code: int, isam_text: str, isam: int
) -> None:
    exc = informix_error("HY000", f"{SRV}{ISAM_DEPENDENT[code]} {isam_text}", code)
    err = translate(exc, INFORMIX)
    assert type(err) is OperationalError
    assert err.native_code == code
    assert err.isam_code == isam
    assert not err.is_transient
    assert not err.is_disconnect


def test_update_failed_minus_346_with_isam_duplicate_is_non_transient_operational_error() -> None:
    # Per INFORMIX.md's table: -346 is an OperationalError whatever the ISAM code; only a
    # lock ISAM code makes it transient. (-100 duplicate under -346 is a unique violation in
    # the table's terms, but the table does not promote it to IntegrityError.)
    exc = informix_error(
        "HY000",
        f"{SRV}Could not update a row in the table. "
        "ISAM error:  duplicate value for a record with unique key.",
        -346,
    )
    err = translate(exc, INFORMIX)
    assert type(err) is OperationalError
    assert (err.native_code, err.isam_code, err.is_transient) == (-346, -100, False)


def test_windows_two_records_read_sqlcode_from_first_and_isam_from_second() -> None:
    # On Windows pyodbc joins records 2..n with "; " and without the function name.
    message = (
        f"[HY000] {SRV}Could not do a physical-order read to fetch next row. (-244) "
        f"(SQLExecDirectW); [HY000] {SRV}ISAM error:  record is locked. (-107)"
    )
    exc = pyodbc.Error("HY000", message)
    err = translate(exc, INFORMIX)
    assert type(err) is OperationalError
    assert err.native_code == -244
    assert err.isam_code == -107
    assert err.is_transient
    assert err.__cause__ is exc


def test_windows_two_records_with_non_lock_isam_record_is_not_transient() -> None:
    message = (
        f"[HY000] {SRV}Could not update a row in the table. (-346) (SQLExecDirectW); "
        f"[HY000] {SRV}ISAM error:  duplicate value for a record with unique key. (-100)"
    )
    err = translate(pyodbc.Error("HY000", message), INFORMIX)
    assert type(err) is OperationalError
    assert (err.native_code, err.isam_code, err.is_transient) == (-346, -100, False)


def test_lock_isam_error_under_another_sqlcode_is_transient() -> None:
    # The DB2 documentation's example of an appended ISAM error: a catalog read that met a
    # locked key (-211 with ISAM -144).
    exc = informix_error(
        "HY000", f"{SRV}Cannot read system catalog (systables). ISAM error: key value locked.", -211
    )
    err = translate(exc, INFORMIX)
    assert type(err) is OperationalError
    assert (err.native_code, err.isam_code, err.is_transient) == (-211, -144, True)


def test_isam_code_is_read_with_one_or_two_spaces_after_the_marker() -> None:
    assert INFORMIX.isam_code("x ISAM error:  record is locked.") == -107
    assert INFORMIX.isam_code("x ISAM error: record is locked.") == -107
    assert INFORMIX.isam_code("x isam error: DEADLOCK DETECTED.") == -143


def test_isam_code_ignores_the_sqlcode_after_the_isam_text() -> None:
    # The "(-244)" after the text is pyodbc's native code, not an ISAM code (-100..-199).
    assert (
        INFORMIX.isam_code("Could not ... ISAM error:  the file is locked. (-244) (SQLF)") == -113
    )


def test_no_isam_marker_means_no_isam_code() -> None:
    assert INFORMIX.isam_code(f"[HY000] {SRV}Could not do a read. (-107) (SQLExecDirectW)") is None


def test_native_code_is_the_sqlcode_at_the_end_of_the_first_record() -> None:
    msg = f"[42000] {SRV}A syntax error has occurred. (-201) (SQLExecDirectW)"
    assert INFORMIX.native_code(msg, pyodbc.Error("42000", msg)) == -201


def test_native_code_of_a_message_without_code_is_none() -> None:
    msg = "The SQL contains 1 parameter markers, but 2 parameters were supplied"
    assert INFORMIX.native_code(msg, pyodbc.Error(msg, "HY000")) is None


def test_pyodbc_own_errors_are_classified_without_a_native_code() -> None:
    exc = pyodbc.ProgrammingError(
        "The SQL contains 1 parameter markers, but 2 parameters were supplied", "HY000"
    )
    err = translate(exc, INFORMIX)
    assert type(err) is ProgrammingError
    assert err.native_code is None


def test_unixodbc_cannot_open_the_informix_driver_is_interface_error() -> None:
    exc = pyodbc.Error(
        "01000",
        "[01000] [unixODBC][Driver Manager]Can't open lib '/opt/IBM/informix/lib/cli/"
        "iclit09b.so' : file not found (0) (SQLDriverConnect)",
    )
    assert type(translate(exc, INFORMIX)) is InterfaceError


# -- connection keywords -------------------------------------------------------------------


def test_connection_keywords_use_server_host_service_protocol_database_uid_pwd() -> None:
    pairs = INFORMIX.connection_keywords(
        host="dbhost",
        port=9088,
        server="informix",
        database="stores",
        user="informix",
        password="in4mix",
        protocol="onsoctcp",
    )
    assert pairs == [
        ("SERVER", "informix"),
        ("HOST", "dbhost"),
        ("SERVICE", "9088"),
        ("PROTOCOL", "onsoctcp"),
        ("DATABASE", "stores"),
        ("UID", "informix"),
        ("PWD", "in4mix"),
    ]


def test_connection_keywords_take_a_service_name_as_well_as_a_port() -> None:
    pairs = INFORMIX.connection_keywords(
        host="dbhost", port="sqlexec", server="ol", database=None, user=None, password=None,
        protocol=None,
    )  # fmt: skip
    assert ("SERVICE", "sqlexec") in pairs


def test_connection_keywords_omit_what_is_not_given() -> None:
    pairs = INFORMIX.connection_keywords(
        host=None, port=None, server="g_cluster", database="stores", user=None, password=None,
        protocol=None,
    )  # fmt: skip
    assert pairs == [("SERVER", "g_cluster"), ("DATABASE", "stores")]


def test_host_without_server_is_interface_error() -> None:
    with pytest.raises(InterfaceError, match="server="):
        INFORMIX.connection_keywords(
            host="dbhost", port=9088, server=None, database=None, user=None, password=None,
            protocol=None,
        )  # fmt: skip


# -- SQL ---------------------------------------------------------------------------------


def test_savepoint_statements_use_informix_syntax() -> None:
    assert INFORMIX.savepoint("sp_1") == "SAVEPOINT sp_1"
    assert INFORMIX.rollback_to_savepoint("sp_1") == "ROLLBACK WORK TO SAVEPOINT sp_1"
    assert INFORMIX.release_savepoint("sp_1") == "RELEASE SAVEPOINT sp_1"


ISOLATION_SQL = [
    ("read_uncommitted", "SET ISOLATION TO DIRTY READ"),
    ("read_committed", "SET ISOLATION TO COMMITTED READ"),
    ("last_committed", "SET ISOLATION TO COMMITTED READ LAST COMMITTED"),
    ("cursor_stability", "SET ISOLATION TO CURSOR STABILITY"),
    ("repeatable_read", "SET ISOLATION TO REPEATABLE READ"),
    # Informix's REPEATABLE READ is the ANSI SERIALIZABLE level.
    ("serializable", "SET ISOLATION TO REPEATABLE READ"),
]


@pytest.mark.parametrize(("level", "sql"), ISOLATION_SQL)
def test_transaction_isolation_is_set_isolation(level: str, sql: str) -> None:
    assert INFORMIX.begin_statements(level, False) == [sql]


@pytest.mark.parametrize(("level", "sql"), ISOLATION_SQL)
def test_session_isolation_is_set_isolation(level: str, sql: str) -> None:
    assert INFORMIX.session_isolation(level) == [sql]


@pytest.mark.parametrize(("level", "_sql"), ISOLATION_SQL)
def test_end_statements_restore_committed_read_in_a_logged_database(level: str, _sql: str) -> None:
    expected = [] if level == "read_committed" else ["SET ISOLATION TO COMMITTED READ"]
    assert INFORMIX.end_statements(level, database_mode="logged") == expected
    assert INFORMIX.end_statements(level) == expected


@pytest.mark.parametrize(("level", "_sql"), ISOLATION_SQL)
def test_end_statements_restore_repeatable_read_in_an_ansi_database(level: str, _sql: str) -> None:
    expected = (
        [] if level in ("repeatable_read", "serializable") else ["SET ISOLATION TO REPEATABLE READ"]
    )
    assert INFORMIX.end_statements(level, database_mode="ansi") == expected


@pytest.mark.parametrize(("level", "_sql"), ISOLATION_SQL)
def test_end_statements_restore_the_connections_own_isolation(level: str, _sql: str) -> None:
    restored = INFORMIX.end_statements(
        level, session_isolation="last_committed", database_mode="ansi"
    )
    expected = [] if level == "last_committed" else [
        "SET ISOLATION TO COMMITTED READ LAST COMMITTED"
    ]  # fmt: skip
    assert restored == expected


def test_no_isolation_means_no_statements() -> None:
    assert INFORMIX.begin_statements(None, False) == []
    assert INFORMIX.end_statements(None) == []
    assert INFORMIX.end_statements(None, session_isolation="cursor_stability") == []


def test_readonly_transaction_is_set_transaction_read_only() -> None:
    assert INFORMIX.supports_readonly
    assert INFORMIX.begin_statements(None, True) == ["SET TRANSACTION READ ONLY"]


@pytest.mark.parametrize(("level", "sql"), ISOLATION_SQL)
def test_readonly_transaction_with_an_isolation_sets_both(level: str, sql: str) -> None:
    assert INFORMIX.begin_statements(level, True) == ["SET TRANSACTION READ ONLY", sql]


@pytest.mark.parametrize(
    ("lock_timeout", "sql"),
    [
        (0, "SET LOCK MODE TO NOT WAIT"),
        (0.0, "SET LOCK MODE TO NOT WAIT"),
        (2.5, "SET LOCK MODE TO WAIT 3"),
        (2, "SET LOCK MODE TO WAIT 2"),
        (0.1, "SET LOCK MODE TO WAIT 1"),
        (float("inf"), "SET LOCK MODE TO WAIT"),
    ],
)
def test_lock_timeout_becomes_set_lock_mode(lock_timeout: float, sql: str) -> None:
    assert INFORMIX.session_setup(lock_timeout=lock_timeout) == [sql]


def test_no_lock_timeout_leaves_the_server_default() -> None:
    assert INFORMIX.session_setup(lock_timeout=None) == []


def test_liveness_and_database_mode_queries() -> None:
    assert INFORMIX.liveness_query == "SELECT 1 FROM systables WHERE tabid = 1"
    assert INFORMIX.database_mode_query is not None
    assert "sysmaster:sysdatabases" in INFORMIX.database_mode_query
    assert "is_logging" in INFORMIX.database_mode_query


def test_string_parameter_with_nul_is_data_error_naming_its_position() -> None:
    with pytest.raises(DataError, match="parameter 3"):
        INFORMIX.adapt_params([1, "ok", "bad\x00tail"])


def test_bytes_with_nul_pass_unchanged() -> None:
    params = [b"\x00\x01", "text"]
    assert INFORMIX.adapt_params(params) is params


# -- configure: converters for the driver's own SQL types ----------------------------------


class FakeConnection:
    """Records what ``configure`` registers on a pyodbc connection."""

    def __init__(self, *, set_attr_fails: bool = False) -> None:
        self.converters: dict[int, Any] = {}
        self.attrs: dict[int, Any] = {}
        self.set_attr_fails = set_attr_fails

    def add_output_converter(self, sqltype: int, func: Any) -> None:
        self.converters[sqltype] = func

    def set_attr(self, attr: int, value: Any) -> None:
        if self.set_attr_fails:
            raise pyodbc.Error("HY092", "[HY092] Invalid attribute (0) (SQLSetConnectAttr)")
        self.attrs[attr] = value


def test_the_dialect_offers_a_converter_for_every_driver_specific_type() -> None:
    offered = INFORMIX.output_converters()
    assert set(INFORMIX_SQL_TYPES.values()) <= set(offered)
    assert set(range(101, 114)) <= set(offered)  # the ODBC interval types


def test_configure_turns_on_lo_automatic_then_odbc_types_only_then_udt_text() -> None:
    conn = FakeConnection()
    INFORMIX.configure(conn)
    assert list(conn.attrs.items()) == [
        (SQL_INFX_ATTR_LO_AUTOMATIC, 1),
        (SQL_INFX_ATTR_ODBC_TYPES_ONLY, 1),
        (SQL_INFX_ATTR_DEFAULT_UDT_FETCH_TYPE, 1),  # SQL_C_CHAR
        (SQL_INFX_ATTR_IDSISAMERRMSG, 1),
    ]


def test_configure_sets_the_network_timeouts_when_asked() -> None:
    conn = FakeConnection()
    InformixDialect(network_timeout=29.5).configure(conn)
    assert conn.attrs[SQL_INFX_ATTR_SENDTIMEOUT] == 30
    assert conn.attrs[SQL_INFX_ATTR_RECVTIMEOUT] == 30


def test_configure_survives_a_driver_without_the_attributes() -> None:
    conn = FakeConnection(set_attr_fails=True)
    INFORMIX.configure(conn)
    assert not conn.attrs


def test_bigint_converter_decides_by_length_never_by_content() -> None:
    bigint = INFORMIX.output_converters()[INFORMIX_SQL_TYPES["SQL_INFX_BIGINT"]]
    assert bigint(b"-9223372036854775808") == -(2**63)
    assert bigint((2**40 + 5).to_bytes(8, sys.byteorder, signed=True)) == 2**40 + 5
    assert bigint((-7).to_bytes(8, sys.byteorder, signed=True)) == -7
    # Eight bytes that spell digits are the binary integer, not the text "12345678".
    assert bigint(b"12345678") == int.from_bytes(b"12345678", sys.byteorder, signed=True)
    assert bigint(None) is None


def test_lvarchar_converter_follows_the_client_locale() -> None:
    latin = InformixDialect(client_locale="en_us.8859-1").output_converters()
    utf8 = InformixDialect(client_locale="en_US.utf8").output_converters()
    code = INFORMIX_SQL_TYPES["SQL_INFX_UDT_LVARCHAR"]
    assert latin[code]("café".encode("latin-1")) == "café"
    assert utf8[code]("żółw".encode()) == "żółw"
    assert utf8[code](None) is None
    with pytest.raises(DataError, match="LVARCHAR"):
        utf8[code](b"caf\xe9")


def test_blob_and_clob_handles_are_refused_with_the_lo_automatic_escape() -> None:
    offered = INFORMIX.output_converters()
    for name in ("SQL_INFX_UDT_BLOB", "SQL_INFX_UDT_CLOB"):
        convert = offered[INFORMIX_SQL_TYPES[name]]
        assert convert(None) is None
        with pytest.raises(DataError, match="LO automatic"):
            convert(b"\x00" * 72)
