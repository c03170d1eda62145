"""Daily records: stocks by state and origin, flows between states, flags and money sums."""

from __future__ import annotations

import numpy as np

FLAGS = ("destitute", "sheltered", "stranded")
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


class Recorder:
    """Running stocks kept by flows, and the history of every day."""

    def __init__(self, n_days: int, n_states: int, n_origins: int) -> None:
        self.n_days, self.S, self.O = n_days, n_states, n_origins
        self.counts = np.zeros((n_states, n_origins), dtype=np.int64)
        self.initial = self.counts.copy()
        self.flags = {f: np.zeros(n_origins, dtype=np.int64) for f in FLAGS}
        self.stocks = np.zeros((n_days, n_states, n_origins), dtype=np.int32)
        self.flows = np.zeros((n_days, n_states, n_states, n_origins), dtype=np.int32)
        self.created = np.zeros((n_days, n_origins), dtype=np.int32)
        self.flag_history = {f: np.zeros((n_days, n_origins), dtype=np.int32) for f in FLAGS}
        self.extras = {e: np.zeros((n_days, n_origins)) for e in EXTRAS}
        self.monthly = {m: np.full((n_days, n_origins), np.nan) for m in MONTHLY}
        self._flow_today = np.zeros((n_states, n_states, n_origins), dtype=np.int64)
        self._day = 0

    def start(self, pop) -> None:
        """Count the initial population (created before the first day)."""
        n = pop.n
        idx = pop.state[:n].astype(np.int64) * self.O + pop.origin[:n]
        self.counts[:] = np.bincount(idx, minlength=self.S * self.O).reshape(self.S, self.O)
        self.initial = self.counts.copy()
        for f in FLAGS:
            self.flags[f][:] = np.bincount(pop.origin[:n][getattr(pop, f)[:n]], minlength=self.O)

    def flow(self, old: np.ndarray, new: int, origin: np.ndarray) -> None:
        """Count agents moving from their states ``old`` to ``new``."""
        out = np.bincount(old.astype(np.int64) * self.O + origin, minlength=self.S * self.O)
        out = out.reshape(self.S, self.O)
        self._flow_today[:, new, :] += out
        self.counts -= out
        self.counts[new] += out.sum(axis=0)

    def create(self, state: int, origin: np.ndarray) -> None:
        """Count agents created today in ``state``."""
        add = np.bincount(origin, minlength=self.O)
        self.counts[state] += add
        self.created[self._day] += add.astype(np.int32)

    def flag(self, name: str, origin: np.ndarray, delta: int) -> None:
        """Agents (by origin) whose flag was set (+1) or cleared (-1)."""
        self.flags[name] += delta * np.bincount(origin, minlength=self.O)

    def add(self, name: str, origin: np.ndarray, values: np.ndarray | float) -> None:
        """Add per-agent amounts to today's extra metric ``name``."""
        if np.isscalar(values):
            counts = np.bincount(origin, minlength=self.O) * float(values)
        else:
            counts = np.bincount(origin, weights=values, minlength=self.O)
        self.extras[name][self._day] += counts

    def set_day(self, day: int) -> None:
        """Start recording a new day."""
        self._day = day

    def end_day(self, day: int, pop, sim) -> None:
        """Store today's stocks, flows and flags."""
        self.stocks[day] = self.counts
        self.flows[day] = self._flow_today
        self._flow_today[:] = 0
        for f in FLAGS:
            self.flag_history[f][day] = self.flags[f]
        if day + 1 < self.n_days:
            self._day = day + 1
