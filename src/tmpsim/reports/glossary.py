"""Plain-language names of every state and metric: one source for figures, exports and docs.

Figures take their legends and axis units from here, the monthly exports their column headings and
notes, and ``docs/glossary.md`` is generated from it (``python -m tmpsim.reports.glossary``; a test
checks the file is current). A scenario can rename what is its own: the programme's stock
(``programme.stock_label``), the currency and the headline figures (``headlines``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Literal

from tmpsim.states import State

Unit = Literal["people", "people per day", "currency", "person-years", "years", "agents"]
# How a daily metric becomes a monthly figure: the mean of the days, their sum, or the value on
# the month end (metrics recorded on month ends only).
Monthly = Literal["mean", "sum", "month_end"]


@dataclass(frozen=True)
class Term:
    """One metric (or a family of them, ``name`` ending in ``*``) in plain words."""

    name: str
    label: str
    unit: Unit
    group: str
    monthly: Monthly
    definition: str
    caveat: str = ""

    def heading(self, label: str | None = None) -> str:
        """Column heading of a monthly table: label, how the month is summarised, and the unit."""
        how = {"mean": "monthly mean", "sum": "monthly total", "month_end": "at month end"}
        return f"{label or self.label} ({how[self.monthly]}, {self.unit_text()})"

    def unit_text(self, currency: str = "currency") -> str:
        """The unit as printed; flows summed over a month are people per month."""
        if self.unit == "currency":
            return currency
        if self.unit == "people per day" and self.monthly == "sum":
            return "people"
        return self.unit


# Groups, in the order of the workbook's sheets.
GROUPS = {
    "hardship": "Stranded, destitute and sheltered people",
    "stocks": "People in the host country by situation",
    "flows": "Arrivals, departures and changes of situation",
    "pipeline": "People on the way: pool, training, waiting to enter",
    "money": "Money: debts, savings, remittances and payments",
    "states": "Every lifecycle state (each person is in exactly one)",
}

STATES: dict[str, str] = {
    "pool": "An applicant in the sending country, on a standby list, not yet selected.",
    "training": "Selected; has paid the fee (often with a loan) and is in pre-departure training.",
    "awaiting_entry": "Cleared to go and waiting for a visa, a seat on a flight or an open border.",
    "employed": "Working for an employer under the programme's residence status.",
    "jobless": "Lost the job; the status is still valid for a grace period while looking for "
    "another employer.",
    "stranded": "Contract over or job lost, wants to go home and cannot (no seat, border "
    "closed, no exit permit), with no special status yet.",
    "special_idle": "Holds a special bridging status granted to people who cannot return, and is "
    "not working.",
    "special_working": "Holds a special bridging status and works under it.",
    "irregular": "Left the employer (counted as 'missing') or overstayed: no valid status.",
    "home_visit": "On a home visit the programme requires between stages, with a re-entry permit.",
    "returned": "Back home.",
    "other_status": "Moved on to another residence status (a route onwards the programme opens).",
    "dropped": "Left the pool or the pipeline before ever entering the host country.",
}

_STRANDED_CAVEAT = (
    "Counts people who asked to go home and are still in the host country waiting for a seat or "
    "an exit permit, whatever bridging status they hold meanwhile (so it includes special_status "
    "holders who have not left while no seat was there for them). Once seats return for them, "
    "those who stay on a bridging status are no longer counted (they could leave; "
    "special_status still counts them), so the count can fall steeply when seats come back. It "
    "excludes people who became irregular and people on a home visit abroad, and it is not a "
    "count of everyone without work. Press and official tallies use narrower or wider "
    "definitions; compare with care."
)

TERMS: dict[str, Term] = {
    t.name: t
    for t in (
        Term(
            "stranded",
            "stranded (cannot return home)",
            "people",
            "hardship",
            "mean",
            "People whose contract ended or who lost their job, who want to go home and cannot.",
            _STRANDED_CAVEAT,
        ),
        Term(
            "stranded_at_work",
            "stranded, at work",
            "people",
            "hardship",
            "mean",
            "Of the stranded, those working: on a working bridging status, or still employed while"
            " the bridging status they asked for is decided.",
        ),
        Term(
            "stranded_out_of_work",
            "stranded, out of work",
            "people",
            "hardship",
            "mean",
            "Of the stranded, those without work or income: waiting for a seat with no status,"
            " jobless, or on a bridging status that does not allow work.",
            "Compare with reports of stranded workers who are unemployed, not with all the"
            " stranded.",
        ),
        Term(
            "special_status",
            "on a special bridging status",
            "people",
            "hardship",
            "mean",
            "People holding the special status granted to those who cannot return, working or not.",
            "Most of them are also counted as stranded until they leave or switch status.",
        ),
        Term(
            "destitute",
            "destitute (no income, savings gone)",
            "people",
            "hardship",
            "mean",
            "People in the host country with no income whose savings have run out.",
            "Shown beside 'sheltered', not stacked on it: a sheltered person is usually destitute.",
        ),
        Term(
            "needs_bed",
            "needing a bed",
            "people",
            "hardship",
            "mean",
            "People who need a shelter place: the destitute and, where the job comes with a bed "
            "(programme.housing_with_job), everyone in the host without work, except those who "
            "rent a room privately (programme.private_rental); nobody whom the employer keeps up "
            "without work (programme.employer_upkeep).",
            "Where the job does not come with a bed, the same as 'destitute'.",
        ),
        Term(
            "renting",
            "renting a room privately",
            "people",
            "hardship",
            "mean",
            "People who lost the bed that comes with the job and rent a room privately, having "
            "the savings to move in and not being refused by landlords (scenarios with "
            "programme.private_rental). They need a shelter place once their savings run out.",
        ),
        Term(
            "sheltered",
            "in a shelter",
            "people",
            "hardship",
            "mean",
            "People needing a bed given a place by a shelter, an NGO, a religious group or "
            "friends.",
        ),
        Term(
            "unmet_shelter_need",
            "needing a bed, without a shelter place",
            "people",
            "hardship",
            "mean",
            "People needing a bed minus sheltered people: the shelter places that were missing.",
        ),
        Term(
            "destitute_women",
            "women destitute",
            "people",
            "hardship",
            "mean",
            "The women among the destitute.",
        ),
        Term(
            "needs_bed_women",
            "women needing a bed",
            "people",
            "hardship",
            "mean",
            "The women among those who need a shelter place (a women's shelter plans from these).",
        ),
        Term(
            "sheltered_women",
            "women in a shelter",
            "people",
            "hardship",
            "mean",
            "The women among the sheltered, in any shelter.",
        ),
        Term(
            "unmet_shelter_need_women",
            "women needing a bed, without a shelter place",
            "people",
            "hardship",
            "mean",
            "Women needing a bed minus women sheltered.",
        ),
        Term(
            "shelter_capacity",
            "shelter places",
            "people",
            "hardship",
            "mean",
            "Places the scenario's shelters offer on the day (for the host country as a whole).",
            "Reported for all origins together only.",
        ),
        Term(
            "outside_welfare",
            "in the host country without welfare entitlement",
            "people",
            "hardship",
            "mean",
            "People in the host country on days the programme's rules exclude them from welfare.",
        ),
        Term(
            "programme_stock",
            "people holding the programme's status",
            "people",
            "stocks",
            "mean",
            "People holding the programme's residence status as official stock statistics count "
            "them: working, between employers, on a home visit with a re-entry permit, or waiting "
            "to leave before any special status.",
            "Scenarios give it the programme's own name (programme.stock_label).",
        ),
        Term(
            "programme_stock_stage_*",
            "people holding the programme's status, stage *",
            "people",
            "stocks",
            "month_end",
            "As programme_stock, for one stage of the programme, counted on each month end.",
        ),
        Term(
            "programme_stock_segment_*",
            "people holding the programme's status, segment *",
            "people",
            "stocks",
            "mean",
            "As programme_stock, for one segment of a programme that has segments (groups of "
            "workers with their own terms, such as domestic workers beside the others), daily.",
        ),
        Term(
            "in_host",
            "all programme workers in the host country",
            "people",
            "stocks",
            "mean",
            "Everyone in the host country: employed, jobless, stranded, on a special status or "
            "irregular. People on a home visit are abroad and not included.",
        ),
        Term(
            "employed",
            "working",
            "people",
            "stocks",
            "mean",
            "People working: on the programme's status or on a special status that allows work.",
        ),
        Term(
            "jobless",
            "jobless, status still valid",
            "people",
            "stocks",
            "mean",
            "People who lost their job and may still look for another employer.",
        ),
        Term(
            "irregular",
            "irregular (left the employer or overstayed)",
            "people",
            "stocks",
            "mean",
            "People in the host country without a valid status.",
        ),
        Term(
            "other_status",
            "moved to another status",
            "people",
            "stocks",
            "mean",
            "People who moved on to another residence status (cumulative).",
        ),
        Term(
            "pool",
            "applicants on the standby list",
            "people",
            "pipeline",
            "mean",
            "Applicants in the sending countries not yet selected.",
        ),
        Term(
            "in_training",
            "in pre-departure training",
            "people",
            "pipeline",
            "mean",
            "Selected people in training in the sending country.",
        ),
        Term(
            "awaiting_entry",
            "cleared, waiting to enter",
            "people",
            "pipeline",
            "mean",
            "People cleared to go and waiting for a visa, a seat or an open border.",
        ),
        Term(
            "queue_entry",
            "waiting for an entry seat",
            "people",
            "pipeline",
            "mean",
            "People in the queue for a seat into the host country on the day.",
        ),
        Term(
            "queue_return",
            "waiting for a seat home",
            "people",
            "pipeline",
            "mean",
            "People in the queue for a seat home on the day.",
        ),
        Term(
            "entry_demand",
            "entries employers ask for",
            "people per day",
            "pipeline",
            "sum",
            "New workers employers ask for, from the scenario's yearly demand.",
        ),
        Term(
            "new_entries",
            "new entries",
            "people per day",
            "flows",
            "sum",
            "People entering the host country to start work.",
        ),
        Term(
            "returns",
            "returns home",
            "people per day",
            "flows",
            "sum",
            "People arriving back home.",
        ),
        Term(
            "missing",
            "missing (left the employer)",
            "people per day",
            "flows",
            "sum",
            "People holding the programme's status who left their employer and became irregular, "
            "as the official 'missing' statistic counts them.",
        ),
        Term(
            "became_irregular",
            "became irregular",
            "people per day",
            "flows",
            "sum",
            "Everyone who became irregular, whatever their status before (includes 'missing').",
        ),
        Term(
            "became_stranded",
            "became stranded",
            "people per day",
            "flows",
            "sum",
            "People who entered the stranded state.",
        ),
        Term(
            "switched_status",
            "moved to another status",
            "people per day",
            "flows",
            "sum",
            "People who moved on to another residence status.",
        ),
        Term(
            "dropped",
            "dropped out before entering",
            "people per day",
            "flows",
            "sum",
            "People who left the pool or the pipeline before entering.",
        ),
        Term(
            "dismissals",
            "dismissals",
            "people per day",
            "flows",
            "sum",
            "Workers dismissed by their employer.",
        ),
        Term(
            "cancellations",
            "permits cancelled",
            "people per day",
            "flows",
            "sum",
            "Workers whose permit or plan was cancelled under the programme's rules.",
        ),
        Term(
            "job_changes",
            "job changes",
            "people per day",
            "flows",
            "sum",
            "Workers who moved to another employer (or into work on a special status).",
        ),
        Term(
            "emergency_payments",
            "emergency payments",
            "people per day",
            "flows",
            "sum",
            "People paid by an emergency fund (scenarios with emergency funds): a payment ends "
            "destitution the day it is made, so this counts who needed the money, which "
            "'destitute' on later days does not.",
        ),
        Term(
            "stays_extended",
            "contracts extended under a stay extension",
            "people per day",
            "flows",
            "sum",
            "Workers whose contract ended while a stay extension was in force and who went on "
            "with the same employer.",
        ),
        Term(
            "remitted",
            "money sent home",
            "currency",
            "money",
            "sum",
            "Remittances sent home.",
        ),
        Term(
            "returned_debt",
            "debt still owed by people returning",
            "currency",
            "money",
            "sum",
            "Total debt still owed by the people who returned home (divide by returns for a mean).",
        ),
        Term(
            "returned_savings",
            "savings of people returning",
            "currency",
            "money",
            "sum",
            "Total savings carried home (divide by returns for a mean).",
        ),
        Term(
            "returned_years_away",
            "years away of people returning",
            "person-years",
            "money",
            "sum",
            "Total years abroad of the people who returned (divide by returns for a mean).",
        ),
        Term(
            "returned_age",
            "ages of people returning (sum)",
            "years",
            "money",
            "sum",
            "Sum of the ages of the people who returned (divide by returns for a mean).",
        ),
        Term(
            "emergency_paid",
            "emergency money paid",
            "currency",
            "money",
            "sum",
            "Money paid out by emergency funds to destitute people.",
        ),
        Term(
            "cash_paid",
            "one-off cash payments",
            "currency",
            "money",
            "sum",
            "One-off payments to registered residents (e.g. a pandemic cash payment).",
        ),
        Term(
            "debt_outstanding",
            "debt outstanding",
            "currency",
            "money",
            "month_end",
            "Debt still owed by people in the host country, on the month end.",
        ),
        Term(
            "savings_in_host",
            "savings held in the host country",
            "currency",
            "money",
            "month_end",
            "Savings of people in the host country, on the month end.",
        ),
        Term(
            "state_*",
            "state: *",
            "people",
            "states",
            "mean",
            "People in exactly this lifecycle state (see the states above).",
        ),
    )
}

# Summary (summary.json) keys in plain words: label and unit ("date" is a calendar date).
SUMMARY: dict[str, tuple[str, str]] = {
    "peak_stranded": ("Peak stranded", "people"),
    "peak_stranded_date": ("Peak stranded on", "date"),
    "person_days_stranded": ("Person-days stranded", "person-days"),
    "peak_destitute": ("Peak destitute", "people"),
    "peak_destitute_date": ("Peak destitute on", "date"),
    "person_days_destitute": ("Person-days destitute", "person-days"),
    "peak_needs_bed": ("Peak needing a bed", "people"),
    "peak_needs_bed_date": ("Peak needing a bed on", "date"),
    "peak_unmet_shelter_need": ("Peak unmet shelter need", "people"),
    "peak_unmet_shelter_need_date": ("Peak unmet shelter need on", "date"),
    "peak_needs_bed_women": ("Peak of women needing a bed", "people"),
    "peak_needs_bed_women_date": ("Peak of women needing a bed on", "date"),
    "peak_unmet_shelter_need_women": ("Peak unmet shelter need of women", "people"),
    "peak_unmet_shelter_need_women_date": ("Peak unmet shelter need of women on", "date"),
    "peak_renting": ("Peak renting a room privately", "people"),
    "peak_renting_date": ("Peak renting a room privately on", "date"),
    "unmet_shelter_nights": ("Unmet shelter nights", "person-nights"),
    "shelter_nights": ("Shelter nights used", "person-nights"),
    "mean_debt_at_return": ("Mean debt at return", "currency"),
    "mean_savings_at_return": ("Mean savings at return", "currency"),
    "years_separated_from_family_per_return": ("Years separated from family, per return", "years"),
    "missing": ("Missing (left the employer)", "people"),
    "new_entries": ("New entries", "people"),
    "returns": ("Returns home", "people"),
    "emergency_money_paid": ("Emergency money paid", "currency"),
    "emergency_payments": ("Emergency payments (people paid)", "people"),
    "cash_payments": ("Cash payments by the state", "currency"),
}

BANDS = (
    "A band is the range between the 5th and 95th percentiles of a metric across the runs of an "
    "ensemble, drawn around their median. What it covers depends on the ensemble, and every "
    "ensemble says which in its uncertainty.json, its command's output and its figures. Where the "
    "scenario names a calibration posterior, `tmpsim run --seeds N` draws each run's free "
    "parameters from it as well as its own random seed: the band shows parameter and chance "
    "uncertainty together. With `--no-posterior`, in experiments and in comparisons, the runs "
    "differ only in their seeds: the band shows how much chance alone moves the result (who is "
    "selected, dismissed, or finds a seat) and does not include uncertainty about the scenario's "
    "parameters (fees, rates, dates). No band includes uncertainty about the model's structure or "
    "about the observed data; with few runs its ends are themselves uncertain. Experiments that "
    "vary parameters show one band per point."
)

SCALE = (
    "Runs may simulate a fraction of the people (``--scale``); every figure is scaled back to the "
    "full population, so small scales give noisier, not smaller, numbers."
)


def term(metric: str) -> Term:
    """The glossary entry of a metric (families such as ``state_*`` included).

    Raises KeyError for a metric the glossary does not know.
    """
    if metric in TERMS:
        return TERMS[metric]
    for name, t in TERMS.items():
        if name.endswith("*") and metric.startswith(name[:-1]):
            rest = metric[len(name) - 1 :]
            label = t.label.replace("*", rest.replace("_", " "))
            return Term(metric, label, t.unit, t.group, t.monthly, t.definition, t.caveat)
    raise KeyError(f"metric {metric!r} is not in the glossary (tmpsim/reports/glossary.py)")


def label(metric: str, stock_label: str = "") -> str:
    """A metric's plain-language label; ``stock_label`` names the programme's stock."""
    if metric == "programme_stock" and stock_label:
        return stock_label
    if metric.startswith("programme_stock_stage_") and stock_label:
        return f"{stock_label}, stage {metric.removeprefix('programme_stock_stage_')}"
    if metric.startswith("programme_stock_segment_") and stock_label:
        return f"{stock_label}, segment {metric.removeprefix('programme_stock_segment_')}"
    try:
        return term(metric).label
    except KeyError:
        return metric.replace("_", " ")


@dataclass(frozen=True)
class ScenarioWords:
    """What a scenario names itself: programme, host, currency, stock label, headlines, events.

    Built from a Scenario or from a run folder's scenario.yaml (a dict); missing keys get neutral
    defaults, so folders of earlier versions read too.
    """

    name: str = ""
    programme: str = ""
    host: str = ""
    currency: str = "currency units"
    stock_label: str = ""
    headlines: tuple[dict[str, Any], ...] = ()
    events: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, scenario: Any) -> ScenarioWords:
        """Read them from a Scenario, a scenario dict, or None."""
        if scenario is None:
            return cls()
        data = scenario.model_dump(mode="json") if hasattr(scenario, "model_dump") else scenario
        programme = data.get("programme") or {}
        events = tuple(
            (str(ev["date"]), str(ev["label"]))
            for ev in data.get("events") or []
            if ev.get("label")
        )
        return cls(
            name=str(data.get("name") or ""),
            programme=str(programme.get("name") or ""),
            host=str(data.get("host") or ""),
            currency=str(data.get("currency") or "currency units"),
            stock_label=str(programme.get("stock_label") or ""),
            headlines=tuple(dict(h) for h in data.get("headlines") or []),
            events=tuple(sorted(events)),
        )

    def label(self, metric: str) -> str:
        """A metric's label, the programme's stock under the programme's own name."""
        return label(metric, self.stock_label)

    def unit(self, metric: str) -> str:
        """A metric's unit as figures print it (the scenario's currency for money)."""
        try:
            t = term(metric)
        except KeyError:
            return ""
        return self.currency if t.unit == "currency" else t.unit

    def references(self, metric: str) -> list[dict[str, Any]]:
        """Headline references to mark on figures of ``metric``: date, value, label, source."""
        return [
            {
                "date": str(h["reference_date"]),
                "value": float(h["reference"]),
                "label": str(h.get("reference_label") or f"observed: {h['reference']:,.0f}"),
                "source": str(h.get("source") or ""),
            }
            for h in self.headlines
            if h.get("metric") == metric and h.get("reference") is not None
        ]


def format_value(value: Any, unit: str, currency: str = "currency units") -> str:
    """A value as text with its unit (thousands separated; "currency" is the scenario's)."""
    if value is None:
        return "n/a"
    if unit == "date":
        return str(value)
    if isinstance(value, int | float):
        whole = float(value).is_integer() or abs(value) >= 100 or unit == "people"
        number = f"{value:,.0f}" if whole else f"{value:,.2f}"
        shown_unit = currency if unit == "currency" else unit
        return f"{number} {shown_unit}"
    return str(value)


def _headline_unit(headline: dict[str, Any], words: ScenarioWords) -> str:
    """A headline's unit: its metric's, or over a sum of days what the days add up to.

    A count summed is person-days; a flow summed loses its "per day" (returns: people).
    """
    unit = words.unit(str(headline["metric"])) or "people"
    if headline.get("stat") != "sum":
        return unit
    if unit == "people":
        return "person-days"
    return unit.removesuffix(" per day")


def summary_items(summary: dict[str, Any], words: ScenarioWords) -> list[tuple[str, str, str]]:
    """(key, label, unit) of the headline figures a summary holds, in reading order.

    The scenario's headlines come after the stranded figures they usually refine.
    """
    rows = [(k, lab, unit) for k, (lab, unit) in SUMMARY.items()]
    own = [
        (str(h["name"]), str(h.get("label") or h["name"]), _headline_unit(h, words))
        for h in words.headlines
    ]
    at = [k for k, _, _ in rows].index("person_days_stranded") + 1
    rows = rows[:at] + own + rows[at:]
    return [r for r in rows if r[0] in summary]


# A peak of fewer simulated people than this is mostly chance, and the highest day of a noisy
# series lies above its level: the summary says so (as tmpsim compare does for small bases).
FEW_AGENTS = 30


def summary_rows(summary: dict[str, Any], scenario: Any = None) -> list[tuple[str, str]]:
    """(label, formatted value) of the headline figures in a summary.

    A peak that stands on fewer than ``FEW_AGENTS`` simulated people (the value times the
    run's ``scale``) says how many, and that it is noisy.
    """
    words = scenario if isinstance(scenario, ScenarioWords) else ScenarioWords.of(scenario)
    scale = summary.get("scale")
    rows = []
    for key, lab, unit in summary_items(summary, words):
        text = format_value(summary[key], unit, words.currency)
        value = summary[key]
        if key.startswith("peak_") and unit == "people" and isinstance(scale, int | float):
            simulated = float(value or 0) * scale
            if 0 < simulated < FEW_AGENTS:
                text += f" ({simulated:.0f} simulated: noisy, a peak biased upward)"
        rows.append((lab, text))
    return rows


def markdown() -> str:
    """The text of docs/glossary.md."""
    out = [
        "# Glossary",
        "",
        "Every state a person can be in and every metric tmpsim reports, in plain words. Figures, "
        "the monthly exports and this page take their names from one source, "
        "`src/tmpsim/reports/glossary.py`; this page is generated from it "
        "(`python -m tmpsim.reports.glossary > docs/glossary.md`).",
        "",
        "## States",
        "",
        "Each simulated person is in exactly one state on every day.",
        "",
        "| state | meaning |",
        "|---|---|",
    ]
    out += [f"| `{s.name.lower()}` | {STATES[s.name.lower()]} |" for s in State]
    out += ["", "## Metrics", ""]
    out += [
        "Daily metrics of `series.parquet`, by origin and for all origins (`all`). The monthly "
        "tables (`tmpsim export --monthly`) summarise each month as the column says: the mean of "
        "the days for people counted on a day, the total for flows and payments, the month-end "
        "value for month-end metrics.",
        "",
    ]
    for group, title in GROUPS.items():
        out += [f"### {title}", "", "| metric | name in figures | unit | month | meaning |"]
        out += ["|---|---|---|---|---|"]
        for t in TERMS.values():
            if t.group != group:
                continue
            text = t.definition + (f" *Caveat:* {t.caveat}" if t.caveat else "")
            unit = "currency of the scenario" if t.unit == "currency" else t.unit
            out.append(f"| `{t.name}` | {t.label} | {unit} | {t.monthly} | {text} |")
        out.append("")
    out += [
        "## What `stranded` counts",
        "",
        _STRANDED_CAVEAT,
        "",
        "## Bands",
        "",
        BANDS,
        "",
        "## Scale",
        "",
        SCALE.replace("``", "`"),
        "",
        "## Headline figures",
        "",
        "The summary (`summary.json`, the report's first table) holds these figures, and the "
        "headline figures a scenario defines under `headlines:` (for example the mean number of "
        "stranded people in a month an observed count refers to, with that count as reference).",
        "",
        "| key | meaning | unit |",
        "|---|---|---|",
    ]
    out += [f"| `{k}` | {lab} | {unit} |" for k, (lab, unit) in SUMMARY.items()]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown())
