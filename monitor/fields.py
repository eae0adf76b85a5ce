"""Structured fields: named values an item carries besides its title and text.

A procurement notice has a buyer, awardees, CPV codes and an amount; rules test them
with scopes such as ``awardee:`` and comparisons such as ``amount >= 1000000``. The
values travel from the parser (``FeedItem``) to the stored ``Article`` and to matching
(``Document``), so the mapping is immutable and hashable like the records holding it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

# The fields every document has, which a rule scopes to by name (``title:``, ``lang:``)
# and a source's mapping may not take for its own.
FIELDS_TEXT = ("title", "text", "lead")
FIELDS_META = ("source", "lang")
# Structured fields with a scope of their own; any other is ``field:NAME:``. Which values
# of an item fill them is up to the source's mapping (the BOAMP and DECP presets do).
FIELDS_STRUCTURED = ("buyer", "awardee", "cpv")

# A text, a number, or several texts (several awardees, several CPV codes).
FieldValue = str | float | tuple[str, ...]


class Fields(Mapping[str, FieldValue]):
    """An immutable mapping of field names to values; integers are kept as floats."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        self._items: dict[str, FieldValue] = {
            _name(name): _value(name, value) for name, value in pairs
        }

    def __getitem__(self, name: str) -> FieldValue:
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(frozenset(self._items.items()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Fields):
            return self._items == other._items
        return NotImplemented

    def __repr__(self) -> str:
        return f"Fields({self._items!r})"

    def texts(self, name: str) -> tuple[str, ...]:
        """The text values of field ``name`` (none for a number or a missing field)."""
        value = self._items.get(name)
        if isinstance(value, str):
            return (value,)
        return value if isinstance(value, tuple) else ()


NO_FIELDS = Fields()


def _name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise TypeError(f"a field name must be a non-empty string, not {name!r}")
    return name


def _value(name: str, value: object) -> FieldValue:
    # bool is an int: a flag is not an amount.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise TypeError(f"field {name!r}: expected a text, a number or a list of texts, not {value!r}")
