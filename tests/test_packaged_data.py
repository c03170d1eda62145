"""The data shipped with tmpsim: every CSV is well formed (each row has the header's fields)."""

from __future__ import annotations

import csv
from importlib.resources import files
from pathlib import Path

import pytest

DATA = Path(str(files("tmpsim") / "data"))
CSVS = sorted(DATA.rglob("*.csv"))


def test_there_are_csvs_to_check():
    assert len(CSVS) >= 15


@pytest.mark.parametrize("path", CSVS, ids=lambda p: str(p.relative_to(DATA)))
def test_every_row_has_the_fields_of_its_header(path):
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    width = len(rows[0])
    wrong = [(i + 1, len(r)) for i, r in enumerate(rows) if r and len(r) != width]
    assert wrong == [], f"{path.name}: (line, fields) with other than {width} fields: {wrong}"
