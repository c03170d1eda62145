"""Bad scenario files and bad command lines: one exact message each and exit status 2.

The files are fixtures in tests/scenarios/bad/; each message names the file, the line and the key
path (or the option) and says what is wrong, without a traceback.
"""

from __future__ import annotations

import pytest
from helpers import SCENARIOS, scenario_file, tmpsim_cli, tmpsim_inprocess

BAD = SCENARIOS / "bad"

# file -> the message after "error: " ({f} is the file as given on the command line)
FILES = {
    "impossible_date.yaml": "{f}:8: start: '2021-02-30' is not a real date",
    "end_far_future.yaml": "{f}:9: end: 9999-12-31 is not a plausible date (years 1900..2200)",
    "latin1.yaml": "{f}:21: not UTF-8 text (byte 0xe0); save it as UTF-8",
    "utf16.yaml": "{f}: a UTF-16 file; save it as UTF-8",
    "binary.yaml": "{f}: a binary file, not YAML text",
    "nested_2000.yaml": "{f}:5: nested more than 64 levels deep",
    "stock_1e15.yaml": "{f}:12: origins.A.initial_stock.1: "
    "Input should be less than or equal to 100000000",
    "demand_1e300.yaml": "{f}:25: recruitment.demand.2019: "
    "Input should be less than or equal to 100000000",
    "demand_empty.yaml": "{f}:25: recruitment.demand: "
    "Dictionary should have at least 1 item after validation, not 0",
    "seats_inf.yaml": "{f}:36: events.0.seats_per_day: Input should be a finite number",
    "months_1e9.yaml": "{f}:23: programme.stages.0.months: "
    "Input should be less than or equal to 1200",
    "origins_128.yaml": "{f}:10: origins: "
    "Dictionary should have at most 127 items after validation, not more",
    "wage_true.yaml": "{f}:29: money.wage_per_month: expected a number, got true",
    "grace_days_text.yaml": "{f}:22: programme.grace_days: expected a number, got the text '60'",
    "duplicate_origin.yaml": "{f}:18: origins: key 'A' is given twice (lines 11 and 18); "
    "give it once",
    "shelter_after_end.yaml": "{f}:36: shelters.0.start: 2019-06-01 is after the run ends "
    "(2019-01-31)",
    "segment_unknown_key.yaml": "{f}:17: segments.domestic.wage_per_month: unknown key (check "
    "the spelling; see `tmpsim show` for valid keys)",
    "segment_bad_value.yaml": "{f}:14: segments.domestic.female_share: "
    "Input should be less than or equal to 1",
    "segment_unknown_name.yaml": "{f}:45: origins.B.segments.others: not a segment "
    "(domestic, other)",
    "segment_shares.yaml": "{f}:31: origins.A.segments: shares must sum to 1, they sum to 0.950000",
    "segment_missing.yaml": "{f}:34: origins.B.segments: missing; give this origin's share of "
    "['domestic', 'other']",
}

# command-line arguments (after "run SCENARIO") -> the message after "error: "
ARGUMENTS = {
    ("--seed", "-1"): "--seed must be a whole number from 0 to 9223372036854775807, got -1",
    ("--scale", "1e-300"): "--scale must be between 0.0001 and 100, got 1e-300",
    ("--seeds", "0"): "--seeds must be from 1 to 10,000, got 0",
    ("--seeds", "2", "--workers", "-1"): "--workers must be 0 (run in this process) or more, "
    "got -1",
    ("--set", "programme.grace_days=[1,"): "--set programme.grace_days=[1,: not valid YAML: "
    "expected the node content, but found '<stream end>'",
    ("--set", "recruitment.demand={}"): "--set recruitment.demand={}: recruitment.demand: "
    "Dictionary should have at least 1 item after validation, not 0",
    ("--set", "end=9999-12-31"): "--set end=9999-12-31: end: 9999-12-31 is not a plausible date "
    "(years 1900..2200)",
    ("--set", "start=2021-02-30"): "--set start=2021-02-30: '2021-02-30' is not a real date",
    ("--set", "money.wage_per_month=.inf"): "--set money.wage_per_month=.inf: "
    "money.wage_per_month: Input should be a finite number",
    ("--set", "money.wage_pr_month=1"): "--set money.wage_pr_month: money: no key "
    "'wage_pr_month' (did you mean 'wage_per_month'?); valid keys: wage_per_month, net_share, "
    "living_cost_per_month, subsistence_cost_per_month, remit_share, repay_share, "
    "irregular_wage_factor, special_wage_factor, initial_savings_mean",
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_bad_file_gives_its_message_and_exit_2(tmp_path, name):
    path = BAD / name
    code, out, err = tmpsim_inprocess("run", str(path), "--quiet", "--out", str(tmp_path / "o"))
    assert (code, err) == (2, f"error: {FILES[name].format(f=path)}\n")
    assert out == "" and not (tmp_path / "o").exists()


@pytest.mark.parametrize("args", sorted(ARGUMENTS), ids=" ".join)
def test_bad_argument_gives_its_message_and_exit_2(tmp_path, args):
    path = scenario_file("stranding")
    code, out, err = tmpsim_inprocess(
        "run", str(path), "--quiet", "--out", str(tmp_path / "o"), *args
    )
    assert (code, err) == (2, f"error: {ARGUMENTS[args]}\n")
    assert not (tmp_path / "o").exists()


def test_real_process_exits_2_without_traceback():
    """The same through a fresh interpreter: the exit status a shell sees, and no traceback."""
    for name in ("nested_2000.yaml", "binary.yaml"):
        proc = tmpsim_cli("show", str(BAD / name))
        assert proc.returncode == 2 and proc.stdout == ""
        assert proc.stderr == f"error: {FILES[name].format(f=BAD / name)}\n"


def test_show_names_the_set_it_came_from():
    code, _, err = tmpsim_inprocess(
        "show", str(scenario_file("stranding")), "--set", "programme.grace_days=true"
    )
    assert code == 2
    assert err == (
        "error: --set programme.grace_days=true: programme.grace_days: "
        "expected a number, got true\n"
    )
