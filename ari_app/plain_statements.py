"""The calls' INSERTs and UPDATEs run straight on the DBAPI cursor, compiled once.

Each call writes about eleven rows (its record as it goes, the agents' states, the
offers). Through SQLAlchemy's ``Connection.execute`` every one of them builds an
execution context and a result, which on SQLite costs more CPU than SQLite's own
work. The statements themselves are built once (module constants), so here each
is compiled once by SQLAlchemy, per set of parameter names, and then run with the
cursor: the SQL and the type conversions (times, booleans) are SQLAlchemy's, only
the per-execution machinery is skipped.

Only what that machinery would not change is run this way: an INSERT or UPDATE
with no column default computed in Python, no expanding ``IN`` and no RETURNING;
anything else goes through ``Connection.execute`` as before. Errors come out as
SQLAlchemy's (``IntegrityError`` and so on), as they would have.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Insert, Update
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Dialect

#: Statements kept at most: the hot ones are a handful; a statement built for one
#: write (rare) must not make the cache grow for ever.
_MAX_KEPT = 256


@dataclass(frozen=True)
class Done:
    """What a write's caller reads of its result: how many rows it touched."""

    rowcount: int


@dataclass(frozen=True)
class _Compiled:
    sql: str
    #: The parameters in the order of the ``?``: (name, the statement's own value if the
    #: caller does not give it, the type's conversion or None).
    order: tuple[tuple[str, Any, Callable[[Any], Any] | None], ...]

    def row(self, parameters: Mapping[str, Any]) -> list[Any]:
        row = []
        for name, own, convert in self.order:
            value = parameters.get(name, own)
            row.append(convert(value) if convert is not None and value is not None else value)
        return row


#: Says "this statement goes through SQLAlchemy's execute".
_NOT_PLAIN = object()


class PlainStatements:
    """The compiled form of each plain statement, for one dialect (one per thread)."""

    def __init__(self, dialect: Dialect):
        self._dialect = dialect
        self._kept: dict[tuple[Any, frozenset[str]], Any] = {}

    def compiled(self, statement: Any, parameters: Mapping[str, Any]) -> _Compiled | None:
        """How to run ``statement`` with these parameters on the cursor, or None."""
        key = (statement, frozenset(parameters))
        found = self._kept.get(key)
        if found is None:
            found = self._compile(statement, parameters)
            if len(self._kept) >= _MAX_KEPT:
                self._kept.clear()
            self._kept[key] = found
        return None if found is _NOT_PLAIN else found

    def _compile(self, statement: Any, parameters: Mapping[str, Any]) -> Any:
        if not isinstance(statement, Insert | Update):
            return _NOT_PLAIN
        compiled = statement.compile(dialect=self._dialect, column_keys=sorted(parameters))
        if (compiled.insert_prefetch or compiled.update_prefetch or compiled.returning
                or compiled.post_compile_params or compiled.literal_execute_params
                or compiled.positiontup is None or self._dialect.paramstyle != "qmark"):
            return _NOT_PLAIN
        # The statement's own values (``.values(flow_state="ended")``, a None), as
        # SQLAlchemy would bind them; the caller's parameters take their place.
        own = compiled.construct_params(dict(parameters))
        converters = compiled._bind_processors
        return _Compiled(
            sql=compiled.string,
            order=tuple((name, own.get(name), converters.get(name))
                        for name in compiled.positiontup))


def run_plain(connection: Connection, compiled: _Compiled,
              parameters: Mapping[str, Any], cursor: Any) -> Done:
    """Run on ``cursor`` (of ``connection``'s DBAPI connection, in its transaction)."""
    try:
        row = compiled.row(parameters)
    except Exception as exc:  # a value its type refuses (a naive time): as SQLAlchemy says it
        raise sa_exc.StatementError(str(exc), compiled.sql, dict(parameters), exc) from exc
    dialect = connection.dialect
    try:
        cursor.execute(compiled.sql, row)
    except dialect.loaded_dbapi.Error as exc:
        raise sa_exc.DBAPIError.instance(
            compiled.sql, row, exc, dialect.loaded_dbapi.Error, dialect=dialect) from exc
    return Done(cursor.rowcount)
