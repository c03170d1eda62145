"""Dotted key paths into scenario data: read, write, and crop the data to a date window.

A path names mapping keys and list items, separated by dots: ``money.wage_per_month``,
``recruitment.demand.2021``, ``programme.stages.0.months``. An item of a list of named mappings
(events, stages, shelters, emergency funds) is addressed by its ``name``
(``events.vietnam_flights.seats_per_day``) or by its position (``events.3.seats_per_day``); a
number is always a position, so stages named 1, 2 and 3 are ``programme.stages.0`` to ``.2``.

This is the one implementation used by ``--set``, the policy levers, calibration, experiments and
the dashboard; every caller gets the same resolution rules and the same messages.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
from typing import Any


class PathError(LookupError):
    """A path that does not exist in the data; the message names the missing part."""

    def __str__(self) -> str:  # LookupError would quote the message like a dict key
        return str(self.args[0]) if self.args else ""


def split(dotted: str) -> list[str]:
    """The parts of a dotted path (PathError for an empty path or an empty part)."""
    parts = str(dotted).split(".")
    if not all(p.strip() for p in parts):
        raise PathError(f"{dotted!r} is not a key path (expected names separated by dots)")
    return [p.strip() for p in parts]


def _names(items: list[Any]) -> list[str]:
    return [str(i["name"]) for i in items if isinstance(i, dict) and i.get("name") is not None]


def suggest(key: str, candidates: list[str]) -> str:
    """`` (did you mean X?)`` for the nearest candidate, or an empty string."""
    names = [str(c) for c in candidates]
    close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.6)
    close = close or [c for c in names if str(key).lower() in c.lower()][:1]
    return f" (did you mean {close[0]!r}?)" if close else ""


def _choices(node: Any) -> str:
    keys = [str(k) for k in node] if isinstance(node, dict) else _names(node)
    shown = ", ".join(keys[:12]) + (", ..." if len(keys) > 12 else "")
    if isinstance(node, list):
        return f"; valid names: {shown}{_positions(node)}" if keys else ""
    return f"; valid keys: {shown}" if keys else ""


def _positions(items: list[Any]) -> str:
    """`` or positions 0..N-1``, saying so when names are numbers (a number is a position)."""
    numeric = any(name.isdigit() for name in _names(items))
    why = " (a number is always a position, even where the names are numbers)" if numeric else ""
    return f", or positions 0..{len(items) - 1}{why}"


def child_key(node: Any, key: str, where: str) -> str | int:
    """The key of ``node`` that path part ``key`` names; PathError naming ``where`` if none."""
    if isinstance(node, list):
        if key.isdigit():
            if int(key) < len(node):
                return int(key)
            raise PathError(f"{where}: no item {key} in a list of {len(node)}{_choices(node)}")
        for i, item in enumerate(node):
            if isinstance(item, dict) and str(item.get("name")) == key:
                return i
        names = _names(node)
        if not names:
            raise PathError(
                f"{where}: no item named {key!r} (the items have no names; give a position "
                f"0..{len(node) - 1} or add name: to the item)"
            )
        raise PathError(f"{where}: no item named {key!r}{suggest(key, names)}{_choices(node)}")
    if isinstance(node, dict):
        if key in node:
            return key
        if key.lstrip("-").isdigit() and int(key) in node:
            return int(key)
        raise PathError(f"{where}: no key {key!r}{suggest(key, list(node))}{_choices(node)}")
    raise PathError(f"{where}: not a mapping or a list, cannot hold {key!r}")


def get_path(data: Any, dotted: str) -> Any:
    """The value at a dotted path; PathError naming the first part that does not exist."""
    node, done = data, []
    for key in split(dotted):
        where = ".".join(done) or "the top level"
        node = node[child_key(node, key, where)]
        done.append(key)
    return node


def positional(data: Any, dotted: str) -> str:
    """``dotted`` with each list item named by its ``name`` written as its position instead.

    ``routes.bridges.cannot_return_working.intercept`` becomes ``routes.bridges.0.intercept``
    when that bridge is the first; the parts past what ``data`` holds stay as written (a source
    may name an entry of a one-line table).
    """
    parts = split(dotted)
    node, out = data, []
    for i, part in enumerate(parts):
        try:
            key = child_key(node, part, dotted)
        except PathError:
            return ".".join(out + parts[i:])
        out.append(str(key))
        node = node[key]
    return ".".join(out)


def path_exists(data: Any, dotted: str) -> bool:
    """Whether the dotted path exists in the data."""
    try:
        get_path(data, dotted)
    except PathError:
        return False
    return True


def set_path(data: Any, dotted: str, value: Any, add: bool = True) -> None:
    """Set the value at a dotted path whose parent exists.

    With ``add`` a mapping may gain the last key (a year of a demand series, a key left to its
    default); without it the key must exist already. A list item must exist either way.
    """
    parts = split(dotted)
    parent = get_path(data, ".".join(parts[:-1])) if len(parts) > 1 else data
    where = ".".join(parts[:-1]) or "the top level"
    last = parts[-1]
    try:
        parent[child_key(parent, last, where)] = value
    except PathError:
        if not (add and isinstance(parent, dict)):
            raise
        parent[int(last) if last.isdigit() else last] = value


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def crop_window(
    data: dict[str, Any], start: Any = None, end: Any = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A copy of scenario data run from ``start`` to ``end``, without what falls outside it.

    ``None`` keeps the data's own start or end. Events dated outside the window are dropped, and
    an event's ``eligible_on`` before the window becomes its start; shelters and emergency funds
    that would start after it ends are dropped. Sources of ``events.N...`` (``shelters.N...``)
    keys follow their item to its new position, and go with it when it is dropped; sources
    naming an item by name stay while the item does. Returns the new data and the events
    dropped.
    """
    data = copy.deepcopy(data)
    if start is not None:
        data["start"] = start
    if end is not None:
        data["end"] = end
    first, last = _date(data["start"]), _date(data["end"])
    dropped = keep_items(data, "events", lambda e: first <= _date(e["date"]) <= last)
    for event in data.get("events") or []:
        # Those in its states on a day before the window: the window's first day stands for it.
        if event.get("eligible_on") is not None and _date(event["eligible_on"]) < first:
            event["eligible_on"] = data["start"]
    for section in ("shelters", "emergency_funds"):
        keep_items(data, section, lambda x: x.get("start") is None or _date(x["start"]) <= last)
    return data, dropped


def keep_items(data: dict[str, Any], section: str, keep: Any) -> list[dict[str, Any]]:
    """Keep the items of a list section for which ``keep`` is true, moving their sources along.

    Changes ``data`` in place; returns the items dropped.
    """
    items = data.get(section) or []
    kept = [i for i, item in enumerate(items) if keep(item)]
    if len(kept) == len(items):
        return []
    dropped = [items[i] for i in range(len(items)) if i not in kept]
    data[section] = [items[i] for i in kept]
    gone = {*_names(dropped)} - {*_names(data[section])}
    new_index = {old: new for new, old in enumerate(kept)}
    sources = {}
    for key, text in (data.get("sources") or {}).items():
        parts = str(key).split(".")
        if parts[0] == section and len(parts) > 1:
            if parts[1].isdigit():
                if int(parts[1]) not in new_index:
                    continue
                parts[1] = str(new_index[int(parts[1])])
            elif parts[1] in gone:
                continue
        sources[".".join(parts)] = text
    if "sources" in data:
        data["sources"] = sources
    return dropped
