"""What a span may say about a statement without running anything: its operation, its one
table when that is plain to see, and its text with the literals taken out.

Parsing is deliberately shallow (a few regular expressions, cached per statement text): it
names a table only for a single statement over a single table (``SELECT ... FROM t``,
``INSERT INTO t``, ``UPDATE t SET``, ``DELETE FROM t``), where the conventions' "first
collection found" cannot mislead; anything with a join, a sub-select, a second table or a
second statement gets no table, and text holding several statements gets no operation either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["ParsedSQL", "parse_sql", "sanitize_sql"]

# Comments are kept as they are (a quote inside one must not start a literal).
_COMMENT = r"--[^\n]*|/\*.*?\*/"
_NUMBER = (
    r"(?<![\w$.])(?:0[xX][0-9A-Fa-f]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
    r"(?![\w$])"
)
# Standard SQL strings double their quote; PostgreSQL adds E'...' (backslash escapes) and
# dollar quoting. MariaDB/MySQL strings take backslash escapes and may use double quotes;
# Informix takes double-quoted strings too unless DELIMIDENT is set (redacting a quoted
# identifier there loses a name, never a value).
_STRINGS = {
    "standard": r"(?<!\w)[Ee]'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*'|\$(?P<tag>[A-Za-z_]\w*|)\$.*?\$(?P=tag)\$",
    "mariadb": r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\"",
    "informix": r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"",
}
_LITERALS = {
    family: re.compile(f"(?P<comment>{_COMMENT})|{strings}|{_NUMBER}", re.S)
    for family, strings in _STRINGS.items()
}

_IDENT_PART = r'(?:"[^"]+"|`[^`]+`|\[[^\]]+\]|[A-Za-z_][\w$#]*)'
_IDENT = rf"{_IDENT_PART}(?:\s*[.:@]\s*{_IDENT_PART}){{0,3}}"
_WORD = re.compile(r"[A-Za-z_]\w*")
# Words that mean a second table (or a statement that is not a plain single-table one).
_MORE_TABLES = re.compile(r"\b(?:JOIN|UNION|INTERSECT|EXCEPT|MINUS|USING|MERGE)\b", re.I)
_SELECT_WORD = re.compile(r"\bSELECT\b", re.I)
_FROM_WORD = re.compile(r"\bFROM\b", re.I)
# The table, then nothing but an alias before the end or a clause that names no table.
_TAIL = (
    r"(?:\s+(?:AS\s+)?(?!(?:WHERE|GROUP|ORDER|HAVING|LIMIT|OFFSET|FETCH|FOR|WINDOW|INTO|"
    r"VALUES|SET|SKIP|FIRST|RETURNING|WITH|UNION|JOIN|INNER|LEFT|RIGHT|FULL|CROSS|NATURAL|"
    r"ON|USING)\b)[A-Za-z_]\w*)?\s*(?:$|;|\s(?:WHERE|GROUP|ORDER|HAVING|LIMIT|OFFSET|FETCH|"
    r"FOR|WINDOW|RETURNING|WITH)\b)"
)
_TABLE_OF = {
    "SELECT": re.compile(rf"\bFROM\s+(?P<t>{_IDENT}){_TAIL}", re.I | re.S),
    "DELETE": re.compile(rf"^DELETE\s+FROM\s+(?P<t>{_IDENT}){_TAIL}", re.I | re.S),
    "UPDATE": re.compile(rf"^UPDATE\s+(?P<t>{_IDENT})\s+(?:AS\s+\w+\s+)?SET\b", re.I | re.S),
    "INSERT": re.compile(rf"^INSERT\s+INTO\s+(?P<t>{_IDENT})\s*(?:\(|VALUES\b|DEFAULT\b)", re.I),
}


@dataclass(frozen=True, slots=True)
class ParsedSQL:
    """What the text of one statement shows."""

    #: The first keyword as written (``SELECT``, ``insert``), or ``None`` for text holding
    #: several statements or starting with no keyword.
    operation: str | None
    #: The one table of a plain single-table statement, as written (``orders``,
    #: ``informix.orders``), else ``None``.
    collection: str | None
    #: The text with every literal (string, number) replaced by ``?``; comments kept.
    sanitized: str


def _family(dialect: str) -> str:
    if dialect in ("mariadb", "mysql"):
        return "mariadb"
    if dialect == "informix":
        return "informix"
    return "standard"


def _replace(match: re.Match[str]) -> str:
    return match.group(0) if match.group("comment") is not None else "?"


def sanitize_sql(sql: str, dialect: str) -> str:
    """``sql`` with its literals replaced by ``?`` (comments and placeholders kept).

    :param dialect: the dialect's name (its quoting rules decide what a literal is).
    """
    return _LITERALS[_family(dialect)].sub(_replace, sql)


def parse_sql(sql: str, dialect: str) -> ParsedSQL:
    """The operation, table and sanitized text of ``sql`` (cached for texts under 8 kB).

    :param dialect: the dialect's name (``"informix"``, ``"postgresql"``, ...).
    """
    if len(sql) > 8192:
        return _parse(sql, _family(dialect))
    return _parse_cached(sql, _family(dialect))


@lru_cache(maxsize=512)
def _parse_cached(sql: str, family: str) -> ParsedSQL:
    return _parse(sql, family)


def _parse(sql: str, family: str) -> ParsedSQL:
    pattern = _LITERALS[family]
    sanitized = pattern.sub(_replace, sql)
    # The same text without its comments: what the keywords are read from.
    bare = pattern.sub(lambda m: " " if m.group("comment") is not None else "?", sql).strip()
    body, _, rest = bare.partition(";")
    if rest.strip():
        return ParsedSQL(None, None, sanitized)  # several statements
    body = body.lstrip(" \t\r\n({")
    word = _WORD.match(body)
    if word is None:
        return ParsedSQL(None, None, sanitized)
    operation = word.group(0)
    return ParsedSQL(operation, _collection(operation.upper(), body), sanitized)


def _collection(keyword: str, body: str) -> str | None:
    pattern = _TABLE_OF.get(keyword)
    if pattern is None or _MORE_TABLES.search(body):
        return None
    # One SELECT and one FROM for a query, one FROM for a DELETE, none for INSERT or UPDATE:
    # anything more is a sub-select, an INSERT ... SELECT or an UPDATE ... FROM.
    selects = len(_SELECT_WORD.findall(body))
    froms = len(_FROM_WORD.findall(body))
    if selects != (keyword == "SELECT") or froms != (keyword in ("SELECT", "DELETE")):
        return None
    found = pattern.search(body)
    if found is None:
        return None
    return re.sub(r"\s+", "", found.group("t"))
