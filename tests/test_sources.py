"""Every figure a shipped scenario writes keeps its source (the report's parameter table)."""

from __future__ import annotations

import pytest
import yaml

from tmpsim.reports.context import flatten_parameters, parameter_table
from tmpsim.scenario import load_scenario
from tmpsim.scenario.loader import shipped_dir, shipped_scenarios


def written_keys(name: str) -> set[str]:
    """Key paths the scenario's file and the files it extends write."""
    keys: set[str] = set()
    while name:
        data = yaml.safe_load((shipped_dir() / f"{name}.yaml").read_text(encoding="utf-8"))
        keys |= {path for path, _ in flatten_parameters(data)}
        name = data.get("extends")
    return keys


@pytest.mark.parametrize("name", sorted(shipped_scenarios()))
def test_every_key_a_shipped_scenario_writes_has_a_source(name):
    table = parameter_table(load_scenario(name).model_dump(mode="json"))
    written = table[table.parameter.isin(written_keys(name))]
    assert len(written) > 50
    unsourced = written.loc[written.kind == "none", "parameter"].tolist()
    assert unsourced == [], f"{name}: keys without a source: {unsourced}"
