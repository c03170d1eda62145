"""Read YAML input files strictly: UTF-8 text, no duplicate keys, real dates, bounded nesting.

Used for scenario files, experiment files, ``--set`` values and uploads, so that each of them
refuses the same things with the same messages, ``file:line: reason``:

- bytes that are not UTF-8 text (Latin-1, UTF-16, binary files);
- a key given twice in one mapping (YAML would keep the last one silently): both lines are named;
- an impossible date such as ``2021-02-30`` (YAML's reader would raise a bare ValueError);
- nesting deeper than :data:`MAX_DEPTH` (deep nesting exhausts Python's stack).

Numbers written in exponent form without a decimal point (``1e6``) are read as numbers, as
YAML 1.2 and JSON do, not as text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

MAX_DEPTH = 64
"""Deepest nesting of mappings and lists accepted (scenarios need fewer than ten levels)."""


class YamlError(ValueError):
    """Text that is not acceptable YAML input; the message starts with ``source[:line]:``."""


class _Refused(yaml.MarkedYAMLError):
    """Well-formed YAML that tmpsim refuses (its message needs no "not valid YAML")."""


class _Strict:
    """Constructors that refuse duplicate keys and impossible dates (mixed into a loader)."""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)  # type: ignore[attr-defined]
                line = key_node.start_mark.line + 1
                try:
                    first = seen.get(key)
                    seen.setdefault(key, line)
                except TypeError:  # an unhashable key: SafeLoader says so itself
                    continue
                if first is not None:
                    raise _Refused(
                        None,
                        None,
                        f"key {key!r} is given twice (lines {first} and {line}); give it once",
                        key_node.start_mark,
                    )
        return super().construct_mapping(node, deep=deep)  # type: ignore[misc]

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:
        try:
            return super().construct_yaml_timestamp(node)  # type: ignore[misc]
        except (ValueError, OverflowError):
            raise _Refused(
                None, None, f"{node.value!r} is not a real date", node.start_mark
            ) from None


class _Loader(_Strict, yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys, impossible dates and deep nesting.

    The reference reader: every problem is reported from it (``parse_yaml``).
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:  # type: ignore[override]
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _Refused(None, None, f"nested more than {MAX_DEPTH} levels deep", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)
# Own copies of the resolver lists: add_implicit_resolver would otherwise append to SafeLoader's.
_Loader.yaml_implicit_resolvers = {
    k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)

_LIBYAML = getattr(yaml, "CSafeLoader", None)  # PyYAML built with libyaml (its wheels are)
_FastLoader: type | None = None
if _LIBYAML is not None:

    class _FastLoader(_Strict, _LIBYAML):  # type: ignore[no-redef, valid-type, misc]
        """``_Loader``'s constructors and resolvers on libyaml's scanner and parser (in C).

        Reading a scenario is about ten times faster than with PyYAML's own scanner. It is
        only the fast path of ``parse_yaml``: the nesting depth is checked on libyaml's events
        first, and anything it refuses is read again by ``_Loader``, which says what is wrong.
        """

    _FastLoader.add_constructor("tag:yaml.org,2002:timestamp", _FastLoader.construct_yaml_timestamp)
    _FastLoader.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers


def _nested_too_deep(text: str) -> bool:
    """Whether a node of ``text`` lies deeper than ``MAX_DEPTH`` (as ``_Loader`` counts).

    Read from libyaml's event stream, without building nodes (so without recursion): a node is
    at the depth of the collections open around it, plus one.
    """
    depth = 0
    for event in yaml.parse(text, Loader=_LIBYAML):
        if isinstance(event, yaml.NodeEvent):  # a scalar, an alias or a collection
            if depth + 1 > MAX_DEPTH:
                return True
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return False


def _load_fast(text: str) -> tuple[bool, Any]:
    """``(True, data)`` read by libyaml, or ``(False, None)`` when ``_Loader`` must read it.

    Any refusal (bad YAML, duplicate keys, impossible dates, too deep) is left to ``_Loader``,
    so that messages stay those of the reference reader.
    """
    if _FastLoader is None:
        return False, None
    try:
        if _nested_too_deep(text):
            return False, None
        return True, yaml.load(text, Loader=_FastLoader)  # noqa: S506 (a SafeLoader subclass)
    except Exception:  # noqa: BLE001 - read again by _Loader, which reports it
        return False, None


def _where(source: str, exc: yaml.YAMLError, prefix: str = "") -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = f":{mark.line + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc)
    return f"{source}{line}: {prefix}{problem}"


def parse_yaml(text: str, source: str) -> Any:
    """The data in YAML ``text``; YamlError naming ``source`` and the line on any problem."""
    if "\x00" in text:
        raise YamlError(f"{source}: a binary file, not YAML text")
    done, data = _load_fast(text)
    if done:
        return data
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    except _Refused as exc:
        key = _key_path_at(text, exc.problem_mark)
        raise YamlError(_where(source, exc, f"{key}: " if key else "")) from None
    except yaml.YAMLError as exc:
        raise YamlError(_where(source, exc, "not valid YAML: ")) from None
    except RecursionError:
        raise YamlError(f"{source}: nested too deeply") from None


def _key_path_at(text: str, mark: Any) -> str:
    """The dotted key path of the node starting at ``mark`` (a key's path for a key), or ''."""
    if mark is None:
        return ""
    root = compose_yaml(text)

    def walk(node: Any, path: list[str]) -> list[str] | None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.start_mark.index == mark.index:
                    return path  # a duplicate key: the path of its mapping
                found = walk(value, [*path, str(key.value)])
                if found is not None:
                    return found
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                found = walk(item, [*path, str(i)])
                if found is not None:
                    return found
        elif node is not None and node.start_mark.index == mark.index:
            return path
        return None

    return ".".join(walk(root, []) or [])


def compose_yaml(text: str) -> yaml.Node | None:
    """The YAML node tree of ``text`` (for line numbers), or None if it cannot be read."""
    try:
        loader = _Loader(text)
        try:
            return loader.get_single_node()
        finally:
            loader.dispose()
    except (yaml.YAMLError, ValueError, RecursionError):
        return None


def decode(content: bytes, source: str) -> str:
    """UTF-8 text of a file's bytes; YamlError saying what the bytes are otherwise."""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise YamlError(f"{source}: a UTF-16 file; save it as UTF-8")
    if b"\x00" in content:
        raise YamlError(f"{source}: a binary file, not YAML text")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise YamlError(
            f"{source}:{line}: not UTF-8 text (byte 0x{content[exc.start]:02x}); save it as UTF-8"
        ) from None


def read_yaml(path: str | Path) -> tuple[Any, str]:
    """The data and the text of a YAML file; YamlError naming the file on any problem."""
    path = Path(path)
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise YamlError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    text = decode(content, str(path))
    return parse_yaml(text, str(path)), text
