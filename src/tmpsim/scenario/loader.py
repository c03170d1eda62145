"""Load scenarios from shipped names or YAML files, apply overrides, and validate them."""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from tmpsim.scenario.schema import Scenario


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message names the file, the key path and the reason."""


def shipped_dir() -> Path:
    """Folder holding the scenarios shipped with tmpsim."""
    return Path(str(resources.files("tmpsim") / "scenarios"))


def shipped_scenarios() -> dict[str, str]:
    """Shipped scenario names with their one-line description."""
    out = {}
    for path in sorted(shipped_dir().glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        out[path.stem] = str(data.get("description", "")).strip().splitlines()[0:1]
        out[path.stem] = out[path.stem][0] if out[path.stem] else ""
    return out


def _locate(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ScenarioError(f"{path}: no such scenario file")
        return path
    shipped = shipped_dir() / f"{name_or_path}.yaml"
    if shipped.is_file():
        return shipped
    known = ", ".join(shipped_scenarios())
    raise ScenarioError(f"{name_or_path}: not a shipped scenario ({known}) nor a file")


def _set_path(data: dict[str, Any], dotted: str, value: Any, origin: str) -> None:
    keys = dotted.split(".")
    node: Any = data
    for i, key in enumerate(keys[:-1]):
        if isinstance(node, list):
            node = node[_list_index(node, key, dotted, origin)]
            continue
        if not isinstance(node, dict) or key not in node:
            where = ".".join(keys[: i + 1])
            raise ScenarioError(f"{origin}: --set {dotted}: no key {where!r} in the scenario")
        node = node[key]
    last = keys[-1]
    if isinstance(node, list):
        node[_list_index(node, last, dotted, origin)] = value
    elif isinstance(node, dict):
        node[last if last in node else _maybe_int(last)] = value
    else:
        raise ScenarioError(f"{origin}: --set {dotted}: {'.'.join(keys[:-1])} is not a mapping")


def _list_index(items: list[Any], key: str, dotted: str, origin: str) -> int:
    if not key.isdigit() or int(key) >= len(items):
        raise ScenarioError(
            f"{origin}: --set {dotted}: {key!r} is not an index of a list of {len(items)} items"
        )
    return int(key)


def _maybe_int(key: str) -> str | int:
    return int(key) if key.isdigit() else key


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``path.to.key=value``; the value is read as YAML (numbers, booleans, lists)."""
    if "=" not in text:
        raise ScenarioError(f"--set {text!r}: expected path.to.key=value")
    key, raw = text.split("=", 1)
    return key.strip(), yaml.safe_load(raw)


def format_validation_error(err: ValidationError, source: str, text: str | None = None) -> str:
    """One line per problem: file (and line, where the YAML text is known), key path, reason."""
    tree = _yaml_tree(source, text)
    lines = []
    for e in err.errors():
        parts = [str(p) for p in e["loc"] if not str(p).startswith("function-after")]
        loc = ".".join(parts)
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see `tmpsim show` for valid keys)"
        elif e["type"] == "value_error":
            msg = msg.removeprefix("Value error, ")  # cross-field checks name their keys
            named = _LEADING_PATH.match(msg)
            if not parts and named:
                parts = named.group(1).split(".")
        where = source
        line = _line_of(tree, parts)
        if line is not None:
            where = f"{source}:{line}"
        lines.append(f"{where}: {loc}: {msg}" if loc else f"{where}: {msg}")
    return "\n".join(lines)


_LEADING_PATH = re.compile(r"^([A-Za-z_][\w]*(?:\.[\w]+)*)")


def _yaml_tree(source: str, text: str | None = None) -> yaml.Node | None:
    """The YAML node tree of a scenario (for line numbers), or None."""
    try:
        if text is None:
            path = Path(source)
            text = path.read_text(encoding="utf-8") if path.is_file() else None
        return yaml.compose(text) if text is not None else None
    except (OSError, ValueError, yaml.YAMLError):
        return None


def _line_of(node: yaml.Node | None, parts: list[str]) -> int | None:
    """Line (1-based) of the deepest key of ``parts`` found in the YAML tree."""
    line = None
    for part in parts:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if str(key.value) == part:
                    line, node = key.start_mark.line + 1, value
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _check_sources(data: dict[str, Any], source: str, text: str | None = None) -> None:
    for dotted in data.get("sources", {}) or {}:
        node: Any = data
        for key in str(dotted).split("."):
            if isinstance(node, dict) and (key in node or _maybe_int(key) in node):
                node = node[key] if key in node else node[_maybe_int(key)]
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                line = _line_of(_yaml_tree(source, text), ["sources", str(dotted)])
                where = f"{source}:{line}" if line is not None else source
                raise ScenarioError(f"{where}: sources.{dotted}: no such key in the scenario")


def load_raw(name_or_path: str | Path) -> tuple[dict[str, Any], str]:
    """Read a scenario's YAML as a dict, with the file it came from."""
    path = _locate(name_or_path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario must be a mapping of keys to values")
    return data, str(path)


def validate(data: dict[str, Any], source: str = "<scenario>", text: str | None = None) -> Scenario:
    """Validate a scenario dict, raising ScenarioError that names the source and key path.

    ``text``, the YAML the dict was read from, lets messages give line numbers when ``source``
    is not a file on disk (an upload, say).
    """
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(format_validation_error(err, source, text)) from None
    _check_sources(data, source, text)
    return scenario


def load_scenario(
    name_or_path: str | Path | Scenario | dict[str, Any],
    overrides: dict[str, Any] | list[str] | None = None,
) -> Scenario:
    """Load and validate a scenario, applying ``path.to.key=value`` overrides first."""
    if isinstance(name_or_path, Scenario):
        data, source = name_or_path.model_dump(mode="json"), f"<{name_or_path.name}>"
    elif isinstance(name_or_path, dict):
        data, source = json.loads(json.dumps(name_or_path, default=str)), "<dict>"
    else:
        data, source = load_raw(name_or_path)
    if isinstance(overrides, list):
        overrides = dict(parse_override(o) for o in overrides)
    if overrides:
        # Overrides may name keys the file leaves to their defaults: resolve them first.
        data = validate(data, source).model_dump(mode="json")
    for key, value in (overrides or {}).items():
        _set_path(data, key, value, source)
    return validate(data, source)


def to_yaml(scenario: Scenario) -> str:
    """The fully resolved scenario (defaults filled in) as YAML that loads back to the same."""
    return yaml.safe_dump(
        scenario.model_dump(mode="json"), sort_keys=False, allow_unicode=True, width=100
    )


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of the resolved scenario's canonical JSON."""
    blob = json.dumps(scenario.model_dump(mode="json"), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()
