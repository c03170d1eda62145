"""Fuzzing the scenario reader: any file or ``--set`` gives a Scenario or a ScenarioError.

Hypothesis mutates a valid scenario (a value at any key path replaced by a hostile one, a key
removed, an unknown key added) and writes random text; whatever comes out, loading must end in
a validated scenario or a clear error, never another exception. A CI-sized run: a few hundred
examples, derandomized, so the suite stays deterministic.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml
from helpers import scenario_file
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tmpsim import ScenarioError, load_scenario
from tmpsim.scenario.loader import parse_override
from tmpsim.scenario.yamlfile import YamlError, parse_yaml

BASE: dict[str, Any] = load_scenario(scenario_file("stranding")).model_dump(mode="json")
BASE["shelters"] = [{"name": "npo", "capacity": 5, "start": "2019-01-10"}]
BASE["programme"]["cancellations"] = [{"name": "c", "rate_per_year": 0.1}]


def _leaves(node: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [path] if path else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _leaves(v, (*path, str(k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _leaves(v, (*path, str(i)))
    return out


PATHS = _leaves(BASE)

HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e15, 1e300, -1e300, 128, 2**63, -1, 0, 0.5, 1e-300]),
    st.text(max_size=20),
    st.sampled_from(["2021-02-30", "9999-12-31", "0001-01-01", "60", "true", "all", "{}"]),
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any, delete: bool) -> None:
    node: Any = data
    for key in path[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    last = path[-1]
    if isinstance(node, list):
        if delete:
            node.pop(int(last))
        else:
            node[int(last)] = value
    elif delete:
        node.pop(last, None)
    else:
        node[last] = value


def _load_text(tmp: Path, text: str) -> None:
    path = tmp / "fuzz.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_scenario(path)
    except ScenarioError:
        pass


FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@settings(FUZZ, max_examples=400)
@given(
    changes=st.lists(
        st.tuples(st.sampled_from(PATHS), HOSTILE, st.booleans()), min_size=1, max_size=3
    ),
    extra=st.one_of(st.none(), st.text(min_size=1, max_size=8)),
)
def test_mutated_scenarios_load_or_give_a_scenario_error(tmp_path, changes, extra):
    import copy

    data = copy.deepcopy(BASE)
    for path, value, delete in changes:
        try:
            _set(data, path, value, delete)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            continue  # an earlier change removed or replaced the parent
    if extra is not None:
        data[extra] = 1
    _load_text(tmp_path, yaml.safe_dump(data, allow_unicode=True))


@FUZZ
@given(text=st.text(max_size=300))
def test_random_text_gives_a_scenario_error(tmp_path, text):
    _load_text(tmp_path, text)


@FUZZ
@given(path=st.sampled_from(PATHS), raw=st.text(max_size=30))
def test_any_set_value_loads_or_gives_a_scenario_error(path, raw):
    try:
        load_scenario(scenario_file("stranding"), [f"{'.'.join(path)}={raw}"])
    except ScenarioError:
        pass


@FUZZ
@given(text=st.text(max_size=200))
def test_yaml_reader_raises_only_its_own_error(text):
    try:
        parse_yaml(text, "<fuzz>")
    except YamlError:
        pass


def test_parse_override_splits_at_the_first_equals_sign():
    assert parse_override("a.b=c=d") == ("a.b", "c=d")
