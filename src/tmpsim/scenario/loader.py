"""Load scenarios from shipped names or YAML files, apply overrides, and validate them."""

from __future__ import annotations

import hashlib
import json
import os
import re
import typing
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

import tmpsim.scenario.paths as paths
from tmpsim.scenario.bounds import item_annotation, kinds_of
from tmpsim.scenario.schema import EVENT_TYPES, Scenario
from tmpsim.scenario.yamlfile import YamlError, compose_yaml, parse_yaml, read_yaml


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message names the file, the key path and the reason."""


def shipped_dir() -> Path:
    """Folder holding the scenarios shipped with tmpsim."""
    return Path(str(resources.files("tmpsim") / "scenarios"))


def shipped_scenarios() -> dict[str, str]:
    """Shipped scenario names with their one-line description."""
    out = {}
    for path in sorted(shipped_dir().glob("*.yaml")):
        data = load_raw(path)[0]
        out[path.stem] = str(data.get("description", "")).strip().splitlines()[0:1]
        out[path.stem] = out[path.stem][0] if out[path.stem] else ""
    return out


def _locate(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if path.is_dir():
            raise ScenarioError(f"{path}: a folder, not a scenario file (give a .yaml file)")
        if path.exists() and not path.is_file():  # /dev/null, a pipe, a socket
            raise ScenarioError(
                f"{path}: exists but is not a regular file (a device, pipe or socket); give a "
                "scenario .yaml file"
            )
        if not path.is_file():
            raise ScenarioError(f"{path}: no such scenario file")
        return path
    shipped = shipped_dir() / f"{name_or_path}.yaml"
    if shipped.is_file():
        return shipped
    known = ", ".join(shipped_scenarios())
    raise ScenarioError(f"{name_or_path}: not a shipped scenario ({known}) nor a file")


def _declared_keys(data: dict[str, Any], parts: list[str]) -> list[str] | None:
    """The keys the schema declares for the section at key path ``parts`` (None: not a section).

    Keys left out of resolved data while unset (``exclude_if``: ``max_changes``, a headline's
    ``stat``) are still the schema's, so an override may give them; an event's keys are those
    of its ``type``.
    """
    annotation: Any = Scenario
    node: Any = data
    for part in parts:
        items = item_annotation(annotation)
        if items is not None:  # a list or mapping of items: the part names one
            annotation = items[1]
        else:
            model = _model_of(annotation, node)
            if model is None or part not in model.model_fields:
                return None
            annotation = model.model_fields[part].annotation
        try:
            node = node[paths.child_key(node, part, "")]
        except (paths.PathError, KeyError, IndexError, TypeError):
            return None
    if item_annotation(annotation) is not None:
        return None
    model = _model_of(annotation, node)
    return None if model is None else list(model.model_fields)


def _model_of(annotation: Any, node: Any) -> type[BaseModel] | None:
    """The one model ``annotation`` allows, or among several (events) the one of node's type."""
    models = [k for k in kinds_of(annotation) if isinstance(k, type) and issubclass(k, BaseModel)]
    if len(models) > 1 and isinstance(node, dict):
        kind = node.get("type")
        models = [m for m in models if kind in typing.get_args(_type_of(m))]
    return models[0] if len(models) == 1 else None


def _type_of(model: type[BaseModel]) -> Any:
    field = model.model_fields.get("type")
    return field.annotation if field is not None else None


def _may_add(parts: list[str]) -> bool:
    """Whether the mapping at key path ``parts`` takes keys of the user's choosing.

    Origins and the years of a series are the user's to name; a section's keys are fixed (and
    all present once defaults are filled in), so a key missing there is a typo.
    """
    annotation: Any = Scenario
    for part in [*parts, None]:
        items = item_annotation(annotation)
        if part is None:
            return items is not None and items[0] == "dict"
        if items is not None:
            annotation = items[1]
            continue
        models = [
            k for k in kinds_of(annotation) if isinstance(k, type) and issubclass(k, BaseModel)
        ]
        if len(models) != 1 or part not in models[0].model_fields:
            return False  # one of several kinds (an event): its keys are fixed
        annotation = models[0].model_fields[part].annotation
    return False


def apply_override(
    data: dict[str, Any],
    dotted: str,
    value: Any,
    text: str | None = None,
    given_as: str = "--set",
) -> None:
    """Set one override in resolved scenario data; ScenarioError naming it (``given_as``).

    ``text``, the value as typed, is taken as it is where the key holds text and YAML read it
    as something else (``currency=NO``, ``name=2024``).
    """
    try:
        parts = paths.split(dotted)
        if text is not None and isinstance(value, bool | int | float):
            try:
                if isinstance(paths.get_path(data, dotted), str):
                    value = text.strip()
            except paths.PathError:
                pass  # a key not there yet: set_path says why, or adds it
        declared = _declared_keys(data, parts[:-1])
        add = _may_add(parts[:-1]) or parts[-1] in (declared or [])
        try:
            paths.set_path(data, dotted, value, add=add)
        except paths.PathError:
            # A misspelt key of a section: suggest among every key the schema declares there,
            # those left out of the resolved data while unset included.
            if not declared or len(parts) < 2 or not paths.path_exists(data, ".".join(parts[:-1])):
                raise
            where = ".".join(parts[:-1])
            shown = ", ".join(declared[:16]) + (", ..." if len(declared) > 16 else "")
            raise paths.PathError(
                f"{where}: no key {parts[-1]!r}{paths.suggest(parts[-1], declared)}; "
                f"valid keys: {shown}"
            ) from None
    except paths.PathError as exc:
        raise ScenarioError(f"{given_as} {dotted}: {exc}") from None


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``path.to.key=value``; the value is read as YAML (numbers, booleans, lists)."""
    key, sep, raw = str(text).partition("=")
    if not sep or not key.strip():
        raise ScenarioError(f"--set {text!r}: expected path.to.key=value")
    try:
        return key.strip(), parse_yaml(raw, "")
    except YamlError as exc:
        reason = str(exc).split(": ", 1)[-1]
        raise ScenarioError(f"--set {key.strip()}={raw}: {reason}") from None


def format_validation_error(
    err: ValidationError,
    source: str,
    text: str | None = None,
    overrides: dict[str, str] | None = None,
) -> str:
    """One line per problem: file (and line, where the YAML text is known), key path, reason.

    A problem at (or inside) a key given with ``--set`` names the ``--set`` instead of the file:
    ``overrides`` maps each such key, its list items by position, to what to name
    (``--set key=value``).
    """
    tree = _yaml_tree(source, text)
    lines = []
    for e in err.errors():
        parts = [str(p) for p in e["loc"] if not str(p).startswith("function-after")]
        if len(parts) > 2 and parts[0] == "events" and parts[2] in EVENT_TYPES:
            del parts[2]  # the event's type, which pydantic puts in the location
        msg, stated = e["msg"], False
        if e["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see `tmpsim show` for valid keys)"
        elif e["type"] == "loose_type":
            parts += str(e["ctx"]["path"]).split(".")
            msg = str(e["ctx"]["reason"])
        elif e["type"] == "value_error":
            msg = msg.removeprefix("Value error, ")  # cross-field checks name their keys
            named = _LEADING_PATH.match(msg)
            if not parts and named:
                parts = named.group(1).split(".")
                stated = True  # the message starts with its key path
        loc = "" if stated else ".".join(parts)
        where = _where(parts, source, tree, overrides)
        lines.append(f"{where}: {loc}: {msg}" if loc else f"{where}: {msg}")
    return "\n".join(lines)


def _where(
    parts: list[str], source: str, tree: yaml.Node | None, overrides: dict[str, str] | None
) -> str:
    """Whom a problem at key path ``parts`` names: its ``--set``, else the file and its line."""
    given = _override_for(parts, overrides or {})
    if given is not None:
        return (overrides or {})[given]
    line = _line_of(tree, parts)
    return f"{source}:{line}" if line is not None else source


def _override_for(parts: list[str], overrides: dict[str, str]) -> str | None:
    """The ``--set`` key that wrote key path ``parts`` (or a key inside it), if any."""
    for key in overrides:
        k = key.split(".")
        if parts[: len(k)] == k or (parts and k[: len(parts)] == parts):
            return key
    return None


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


_LEADING_PATH = re.compile(r"^([A-Za-z_][\w]*(?:\.[\w]+)*)")


def _yaml_tree(source: str, text: str | None = None) -> yaml.Node | None:
    """The YAML node tree of a scenario (for line numbers), or None."""
    if text is None:
        try:
            path = Path(source)
            text = path.read_text(encoding="utf-8") if path.is_file() else None
        except (OSError, ValueError):
            return None
    return compose_yaml(text) if text is not None else None


def _line_of(node: yaml.Node | None, parts: list[str]) -> int | None:
    """Line (1-based) of the deepest key of ``parts`` found in the YAML tree.

    List items are found by position or by name, as in key paths.
    """
    line = None
    for part in parts:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if str(key.value) == part:
                    line, node = key.start_mark.line + 1, value
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode):
            item = _item_node(node, part)
            if item is None:
                return line
            node, line = item, item.start_mark.line + 1
        else:
            return line
    return line


def _item_node(node: yaml.SequenceNode, part: str) -> yaml.Node | None:
    if part.isdigit():
        return node.value[int(part)] if int(part) < len(node.value) else None
    for item in node.value:
        if isinstance(item, yaml.MappingNode) and any(
            str(k.value) == "name" and str(v.value) == part for k, v in item.value
        ):
            return item
    return None


def _check_sources(
    data: dict[str, Any],
    source: str,
    text: str | None = None,
    overrides: dict[str, str] | None = None,
    scenario: Scenario | None = None,
) -> None:
    """Refuse a source naming no key of the scenario (a key left to its default counts)."""
    full: dict[str, Any] | None = None
    for dotted in data.get("sources", {}) or {}:
        try:
            paths.get_path(data, str(dotted))
            continue
        except paths.PathError as exc:
            error = exc
        if scenario is not None:  # a key the file leaves to its default may be cited too
            full = scenario.model_dump(mode="json") if full is None else full
            try:
                paths.get_path(full, str(dotted))
                continue
            except paths.PathError as exc:
                error = exc  # names every valid key, defaults included
        where = _where(["sources", str(dotted)], source, _yaml_tree(source, text), overrides)
        raise ScenarioError(f"{where}: sources.{dotted}: no such key in the scenario ({error})")


def load_raw(name_or_path: str | Path) -> tuple[dict[str, Any], str]:
    """Read a scenario's YAML as a dict, with the file it came from.

    A file that ``extends`` another scenario (a shipped name, or a file relative to its own
    folder) is that scenario's data with this file's keys laid over it: mappings merge key by
    key, any other value (a list of events, a date) replaces the base's.
    """
    return _load_raw(_locate(name_or_path), [])


def _load_raw(path: Path, chain: list[Path]) -> tuple[dict[str, Any], str]:
    try:
        data, _ = read_yaml(path)
    except YamlError as exc:
        raise ScenarioError(str(exc)) from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario must be a mapping of keys to values")
    return resolve_extends(data, str(path), path.parent, [*chain, path]), str(path)


def resolve_extends(
    data: dict[str, Any], source: str, folder: Path | None = None, chain: list[Path] | None = None
) -> dict[str, Any]:
    """Scenario data with its ``extends`` resolved (data without one is returned as it is).

    The base is a shipped scenario, or (with ``folder``, the folder of the file being read) a
    YAML file relative to it; an upload, which has no folder, may extend shipped scenarios only.
    """
    if "extends" not in data:
        return data
    data = dict(data)
    base_name = data.pop("extends")
    if not isinstance(base_name, str) or not base_name.strip():
        raise ScenarioError(f"{source}: extends: expected the name or file of a scenario")
    is_file = Path(base_name).suffix in (".yaml", ".yml")
    if is_file and folder is None:
        raise ScenarioError(f"{source}: extends: {base_name}: only shipped scenarios here")
    try:
        base_path = _locate(folder / base_name if is_file and folder else base_name)
    except ScenarioError as exc:
        beside = folder / f"{base_name}.yaml" if folder is not None and not is_file else None
        hint = (
            f" (a file beside this one? write extends: {base_name}.yaml)"
            if (beside is not None and beside.is_file())
            else ""
        )
        raise ScenarioError(f"{source}: extends: {exc}{hint}") from None
    chain = chain or []
    if base_path.resolve() in [p.resolve() for p in chain]:
        raise ScenarioError(f"{source}: extends: {base_name} extends this file again (a cycle)")
    base, _ = _load_raw(base_path, chain)
    if is_file and folder is not None:
        base = _posterior_beside(base, base_path, folder)
    replaced = _replaced_lists(data, base)
    if replaced and isinstance(base.get("sources"), dict):
        # A list given anew (at any depth: routes.bridges) replaces the base's whole: the base's
        # sources of its items go too (the variant cites its own).
        base = dict(base)
        base["sources"] = {
            k: v
            for k, v in base["sources"].items()
            if not any(str(k) == r or str(k).startswith(r + ".") for r in replaced)
        }
    out = overlay(base, data)
    if {"start", "end"} & set(data):
        # A variant with another window drops what it inherits outside it; a list it gives
        # itself stays whole, so that its own event outside the window is still an error.
        cropped = _cropped(out)
        inherited = [k for k in DATED_LISTS if k not in data]
        if len(inherited) == len(DATED_LISTS):
            return cropped  # with the sources of items given by position moved along
        for section in inherited:
            if section in cropped:
                out[section] = cropped[section]
    return out


def _replaced_lists(data: dict[str, Any], base: dict[str, Any], prefix: str = "") -> list[str]:
    """Key paths where ``data`` gives a list that replaces one of ``base`` (mappings merge)."""
    out = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        below = base.get(key)
        if isinstance(value, list) and isinstance(below, list):
            out.append(path)
        elif isinstance(value, dict) and isinstance(below, dict):
            out += _replaced_lists(value, below, path + ".")
    return out


def _posterior_beside(base: dict[str, Any], base_path: Path, folder: Path) -> dict[str, Any]:
    """A base file's relative ``calibration.posterior``, made relative to ``folder``.

    The path is read beside the base file (``posterior_path``), and the variant being read
    lives in ``folder``. A name not found beside the base (a shipped posterior, named by its
    bare file name and found among the shipped ones) is left as it is.
    """
    calibration = base.get("calibration")
    reference = calibration.get("posterior") if isinstance(calibration, dict) else None
    if not isinstance(reference, str) or Path(reference).is_absolute():
        return base
    target = (base_path.parent / reference).resolve()
    if not target.is_file():
        return base
    try:
        where = os.path.relpath(target, folder.resolve())
    except ValueError:  # another drive (Windows): no relative path between them
        where = str(target)
    return {**base, "calibration": {**calibration, "posterior": where}}


DATED_LISTS = ("events", "shelters", "emergency_funds")
"""The lists a window crops (``paths.crop_window``): dated items, or items that open on a day."""


def _cropped(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` without what falls outside its window; as it is if a date is not readable.

    A date that is not one (or an item without a readable date) is left for validation to
    name with its key.
    """
    try:
        return paths.crop_window(data)[0]
    except (ValueError, TypeError, KeyError, AttributeError):
        return data


def overlay(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` laid over it: mappings merge key by key, other values replace."""
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = overlay(out[key], value)
        else:
            out[key] = value
    return out


def validate(
    data: dict[str, Any],
    source: str = "<scenario>",
    text: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> Scenario:
    """Validate a scenario dict, raising ScenarioError that names the source and key path.

    ``text``, the YAML the dict was read from, lets messages give line numbers when ``source``
    is not a file on disk (an upload, say). ``overrides``, the keys overridden (list items by
    position) and what to name for each (``--set key=value``), let messages name the override
    a bad value came from.
    """
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(format_validation_error(err, source, text, overrides)) from None
    except RecursionError:
        raise ScenarioError(f"{source}: nested too deeply") from None
    _check_sources(data, source, text, overrides, scenario)
    return scenario


def load_scenario(
    name_or_path: str | Path | Scenario | dict[str, Any],
    overrides: dict[str, Any] | list[str] | str | None = None,
) -> Scenario:
    """Load and validate a scenario, applying overrides first.

    ``overrides``: ``path.to.key=value`` texts (the command line's ``--set``; errors name the
    ``--set``) or a mapping of key paths to values (errors name the ``override``).
    """
    if not isinstance(name_or_path, str | Path | Scenario | dict):
        raise TypeError(
            "a scenario is a shipped name, a YAML file's path, a Scenario or a mapping, "
            f"got {name_or_path!r}"
        )
    if isinstance(name_or_path, Scenario):
        data, source = name_or_path.model_dump(mode="json"), f"<{name_or_path.name}>"
    elif isinstance(name_or_path, dict):
        data, source = json.loads(json.dumps(name_or_path, default=str)), "<dict>"
    else:
        data, source = load_raw(name_or_path)
    if isinstance(overrides, str):
        overrides = [overrides]  # one "key=value", as on the command line
    if overrides is not None and not (
        isinstance(overrides, dict)
        or (isinstance(overrides, list) and all(isinstance(o, str) for o in overrides))
    ):
        raise TypeError(
            'overrides must be a mapping of key paths to values or a list of "key=value" '
            f"texts, got {overrides!r}"
        )
    shown: dict[str, Any] = {}  # what messages quote: the text given on the command line
    given_as = "--set" if isinstance(overrides, list) else "override"
    if isinstance(overrides, list):
        shown = {o.partition("=")[0].strip(): o.partition("=")[2] for o in overrides}
        overrides = dict(parse_override(o) for o in overrides)
    if not overrides:
        return validate(data, source)
    # Overrides may name keys the file leaves to their defaults: resolve them first.
    data = validate(data, source).model_dump(mode="json")
    for key, value in overrides.items():
        apply_override(data, key, value, shown.get(key), given_as)
    if {"start", "end"} & set(overrides):
        # A new window drops what falls outside it (events, shelters opening after it).
        data = _cropped(data)
    # Messages name the ``--set`` a problem came from, whether it named an item or its position.
    given = {**overrides, **shown}
    located = {
        paths.positional(data, key): f"{given_as} {key}={_short(v)}" for key, v in given.items()
    }
    return validate(data, source, overrides=located)


def to_yaml(scenario: Scenario) -> str:
    """The fully resolved scenario (defaults filled in) as YAML that loads back to the same.

    Written by libyaml's emitter where PyYAML has it (the same text, several times faster).
    """
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(
        scenario.model_dump(mode="json"),
        Dumper=dumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of the resolved scenario's canonical JSON."""
    blob = json.dumps(scenario.model_dump(mode="json"), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()
