"""Reading TOML tables with errors that name the key and echo what was received (Keras style:
"... Received: max_score=-1"), for the rubric and its ``[lab]`` table; and writing TOML values."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from grader.errors import RubricError


@dataclass(frozen=True)
class Where:
    source: str
    key: str = ""

    def at(self, key: str) -> Where:
        return Where(self.source, f"{self.key}.{key}" if self.key else key)

    def fail(self, problem: str, received: Any) -> RubricError:
        return RubricError(f"{self.source}: {self.key}: {problem}. Received: {self.key.rsplit('.', 1)[-1]}={received!r}")


def table_of(document: Mapping[str, Any], key: str, where: Where) -> Mapping[str, Any]:
    if key not in document:
        raise RubricError(f"{where.source}: missing [{key}] table")
    value = document[key]
    if not isinstance(value, Mapping):
        raise where.at(key).fail("must be a table", value)
    return value


def only_keys(table: Mapping[str, Any], allowed: set[str], where: Where, what: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise RubricError(f"{where.source}: {what}: unknown key {unknown[0]!r} "
                          f"(allowed: {', '.join(sorted(allowed))}). Received: {unknown}")


def typed(table: Mapping[str, Any], key: str, kind: type, where: Where, default: Any = ...) -> Any:
    if key not in table:
        if default is ...:
            raise RubricError(f"{where.source}: {where.key}: missing required key {key!r}")
        return default
    value = table[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise where.at(key).fail(f"must be {kind.__name__}", value)
    return value


def points_of(table: Mapping[str, Any], key: str, where: Where) -> float:
    value = typed(table, key, float, where)
    if value < 0:
        raise where.at(key).fail("points must not be negative", table[key])
    return value


def toml_value(value: Any) -> str:
    """A TOML value: strings as JSON strings (valid TOML basic strings), inline tables and arrays."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(int(value)) if float(value).is_integer() else repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{key} = {toml_value(item)}" for key, item in value.items()) + " }"
    return "[" + ", ".join(toml_value(item) for item in value) + "]"
