"""Daily records: stocks by state and origin, flows between states, flags and money sums."""

from __future__ import annotations

import numpy as np

from tmpsim.engine.population import Flag, Population
from tmpsim.states import N_STATES, STOCK_METRICS

EXTRAS = (
    "job_changes",
    "dismissals",
    "cancellations",
    "emergency_paid",
    "cash_paid",
    "remitted",
    "returned_debt",
    "returned_savings",
    "returned_years_away",
    "returned_age",
    "entry_demand",
    "shelter_capacity",
    "queue_return",
    "queue_entry",
)
MONTHLY = ("debt_outstanding", "savings_in_host")
# States whose agents hold the programme's status (counted by stage at month ends).
HOLDS_STATUS = np.isin(np.arange(N_STATES), [int(s) for s in STOCK_METRICS["programme_stock"]])


class Recorder:
    """Running stocks kept by flows, and the history of every day.

    ``counts`` and ``flow_today`` are changed by the move (``flow`` or a compiled kernel doing
    the same); flags keep their own counts (``Flag``) and the recorder stores them each day.
    """

    def __init__(
        self,
        n_days: int,
        n_states: int,
        n_origins: int,
        stages: list[str] | None = None,
        n_sectors: int = 1,
        n_segments: int = 1,
    ) -> None:
        self.n_days, self.S, self.O = n_days, n_states, n_origins
        self.stages = list(stages or [])
        self.counts = np.zeros((n_states, n_origins), dtype=np.int64)
        # Grouping beyond origin: stocks by state, origin and sector every day (kept by the
        # moves, as ``counts``), and by state, stage and origin at month ends (counted then).
        self.n_sectors = n_sectors
        self.sector_counts = np.zeros((n_states, n_origins, n_sectors), dtype=np.int64)
        self.sector_stocks = np.zeros((n_days, n_states, n_origins, n_sectors), dtype=np.int32)
        self.stage_by_state: dict[int, np.ndarray] = {}  # month-end day -> [state, stage, origin]
        # And by state, origin and segment every day, kept as ``sector_counts``; stored only in
        # programmes with segments (with one, they are ``stocks``).
        self.n_segments = n_segments
        self.segment_counts = np.zeros((n_states, n_origins, n_segments), dtype=np.int64)
        shape = (n_days if n_segments > 1 else 0, n_states, n_origins, n_segments)
        self.segment_stocks = np.zeros(shape, dtype=np.int32)
        self.initial = self.counts.copy()
        self.flags: dict[str, Flag] = {}
        self.stocks = np.zeros((n_days, n_states, n_origins), dtype=np.int32)
        self.flows = np.zeros((n_days, n_states, n_states, n_origins), dtype=np.int32)
        self.created = np.zeros((n_days, n_origins), dtype=np.int32)
        self.flag_history: dict[str, np.ndarray] = {}
        self.flag_state_history: dict[str, np.ndarray] = {}  # [day, state, origin]
        self.flag_women_history: dict[str, np.ndarray] = {}  # [day, origin]: flagged women
        self.extras = {e: np.zeros((n_days, n_origins)) for e in EXTRAS}
        self.monthly = {m: np.full((n_days, n_origins), np.nan) for m in MONTHLY}
        self.flow_today = np.zeros((n_states, n_states, n_origins), dtype=np.int64)
        self.day = 0

    def track(self, flags: dict[str, Flag]) -> None:
        """Store these flags' counts every day (in name order), by state where they keep it."""
        for name in sorted(flags):
            self.flags[name] = flags[name]
            self.flag_history[name] = np.zeros((self.n_days, self.O), dtype=np.int32)
            if flags[name].by_state is not None:
                shape = (self.n_days, self.S, self.O)
                self.flag_state_history[name] = np.zeros(shape, dtype=np.int32)
            if flags[name].women is not None:
                self.flag_women_history[name] = np.zeros((self.n_days, self.O), dtype=np.int32)

    def start(self, pop: Population) -> None:
        """Count the initial population (created before the first day) and its flags."""
        n = pop.n
        idx = pop.state[:n].astype(np.int64) * self.O + pop.origin[:n]
        self.counts[:] = np.bincount(idx, minlength=self.S * self.O).reshape(self.S, self.O)
        self.initial = self.counts.copy()
        self.sector_counts[:] = self.by_sector(pop)
        self.segment_counts[:] = self.by_segment(pop)
        for flag in self.flags.values():
            flag.counts[:] = flag.recount()
            if flag.by_state is not None:
                flag.by_state[:] = flag.recount_by_state()
            if flag.women is not None:
                flag.women[:] = flag.recount_women()

    def by_sector(self, pop: Population) -> np.ndarray:
        """A recount of the agents by state, origin and sector."""
        return self._by(pop, pop.sector, self.n_sectors)

    def by_segment(self, pop: Population) -> np.ndarray:
        """A recount of the agents by state, origin and segment."""
        return self._by(pop, pop.segment, self.n_segments)

    def _by(self, pop: Population, group: np.ndarray, n_groups: int) -> np.ndarray:
        n = pop.n
        idx = (pop.state[:n].astype(np.int64) * self.O + pop.origin[:n]) * n_groups
        counts = np.bincount(idx + group[:n], minlength=self.S * self.O * n_groups)
        return counts.reshape(self.S, self.O, n_groups)

    def flow(
        self,
        old: np.ndarray,
        new: int,
        origin: np.ndarray,
        sector: np.ndarray,
        segment: np.ndarray | None = None,
    ) -> None:
        """Count agents (of these origins, sectors, segments) moving from states ``old`` to ``new``.

        Without ``segment`` they are all in the first (a programme without segments).
        """
        out = np.bincount(old.astype(np.int64) * self.O + origin, minlength=self.S * self.O)
        out = out.reshape(self.S, self.O)
        self.flow_today[:, new, :] += out
        self.counts -= out
        self.counts[new] += out.sum(axis=0)
        segment = np.zeros_like(sector) if segment is None else segment
        for counts, group in ((self.sector_counts, sector), (self.segment_counts, segment)):
            n_groups = counts.shape[2]
            cell = (old.astype(np.int64) * self.O + origin) * n_groups + group
            by = np.bincount(cell, minlength=counts.size).reshape(counts.shape)
            counts -= by
            counts[new] += by.sum(axis=0)

    def create(
        self,
        state: int,
        origin: np.ndarray,
        sector: np.ndarray,
        segment: np.ndarray | None = None,
    ) -> None:
        """Count agents (of these origins, sectors, segments) created today in ``state``."""
        add = np.bincount(origin, minlength=self.O)
        self.counts[state] += add
        self.created[self.day] += add.astype(np.int32)
        segment = np.zeros_like(sector) if segment is None else segment
        for counts, group in ((self.sector_counts, sector), (self.segment_counts, segment)):
            n_groups = counts.shape[2]
            cell = origin.astype(np.int64) * n_groups + group
            counts[state] += np.bincount(cell, minlength=self.O * n_groups).reshape(
                self.O, n_groups
            )

    def add(self, name: str, origin: np.ndarray, values: np.ndarray | float) -> None:
        """Add per-agent amounts to today's extra metric ``name``."""
        if np.isscalar(values):
            counts = np.bincount(origin, minlength=self.O) * float(values)
        else:
            counts = np.bincount(origin, weights=values, minlength=self.O)
        self.extras[name][self.day] += counts

    def add_by_origin(self, name: str, amounts: np.ndarray) -> None:
        """Add amounts already summed by origin to today's extra metric ``name``."""
        self.extras[name][self.day] += amounts

    def stage_stocks(self, day: int, counts: np.ndarray) -> None:
        """Month end: agents by state, stage and origin (those in states that still move).

        Also the people holding the programme's status by stage, as monthly metrics.
        """
        self.stage_by_state[day] = counts
        holders = counts[HOLDS_STATUS].sum(axis=0)
        for i, name in enumerate(self.stages):
            self.monthly.setdefault(
                f"programme_stock_stage_{name}", np.full((self.n_days, self.O), np.nan)
            )[day] = holders[i]

    def set_day(self, day: int) -> None:
        """Start recording a new day."""
        self.day = day

    def end_day(self, day: int) -> None:
        """Store today's stocks, flows and flags."""
        self.stocks[day] = self.counts
        self.sector_stocks[day] = self.sector_counts
        if self.n_segments > 1:
            self.segment_stocks[day] = self.segment_counts
        self.flows[day] = self.flow_today
        self.flow_today[:] = 0
        for name, flag in self.flags.items():
            self.flag_history[name][day] = flag.counts
        for name, history in self.flag_state_history.items():
            history[day] = self.flags[name].by_state
        for name, history in self.flag_women_history.items():
            history[day] = self.flags[name].women
