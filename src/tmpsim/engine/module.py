"""The shape every mechanism of the model takes: a module.

A module declares the per-agent state it owns (``fields``, and which of them are flags counted per
origin), is built from the scenario alone, and then takes part in the day through a few hooks,
each called for every module in the simulation's one list of modules (``Simulation.MODULES``),
which is the order of the day:

1. ``events(day)``    dated events starting today (every module, in order);
2. ``step(day)``      the module's daily work (every module, in order);
3. ``month_end(day)`` on the last day of a month (every module, in order);
4. the recorder stores the day.

Between modules, changes are announced rather than called by hand: ``on_move(ids, new, day)``
hears every move of agents to a state (after the state is written), ``timers()`` and
``hazards()`` return the handlers of the deterministic and stochastic events the module owns, and
a module listens to a flag being set or cleared with ``Flag.listen``. A hook a module does not
override costs nothing: only overridden hooks are called.

A module may keep people outside the agent arrays (applicants waiting to be selected, who need
none of the agents' fields): it counts them in the recorder itself and reports them with
``outside()``, so that recounts (invariants, month-end counts by stage) include them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from tmpsim.kinds import Hazard, State, Timer

if TYPE_CHECKING:
    from tmpsim.simulation import Simulation

# name -> (dtype, value of new agents)
Fields = dict[str, tuple[type, float]]
Handler = Callable[[np.ndarray, int], None]


class Module:
    """One mechanism of the model (see the module docstring for the protocol).

    ``__init__`` reads the scenario and the engine (population, streams, calendars, timeline,
    recorder) but no other module: modules may be built in any order. What needs another module
    (the initial population, listening to a flag) happens in ``start``, once all exist.
    """

    fields: ClassVar[Fields] = {}  # per-agent state this module owns
    flags: ClassVar[tuple[str, ...]] = ()  # boolean fields counted per origin (``Flag``)
    # Of those, the flags also counted per state (a move's kernel must shift them: ``Flag``).
    flags_by_state: ClassVar[tuple[str, ...]] = ()
    # Of those, the flags whose women are counted too (changed only through ``Flag.set/clear``).
    flags_by_sex: ClassVar[tuple[str, ...]] = ()
    # Whether this module's ``on_move`` writes the state (exactly one module does, first).
    writes_state: ClassVar[bool] = False
    # The states whose moves this module's ``on_move`` hears (None: every state); moves to
    # other states are not announced to it, so a module listening for one state costs the
    # others' moves nothing. Read once every module is built: ``__init__`` may narrow it from
    # the scenario (an empty set: no move is announced).
    hears: frozenset[State] | None = None

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim

    def start(self) -> None:
        """All modules exist: connect to the others, create or schedule the initial state."""

    def events(self, day: int) -> None:
        """Dated events starting today."""

    def step(self, day: int) -> None:
        """The module's work of the day."""

    def month_end(self, day: int) -> None:
        """The last day of a month, after every module's step."""

    def on_move(self, ids: np.ndarray, new: State, day: int) -> None:
        """Agents ``ids`` moved to state ``new`` today (their state is already written)."""

    def check(self) -> str | None:
        """A problem found by recounting this module's running totals from the agents, or None.

        Called after every day when the simulation checks its invariants.
        """
        return None

    def outside(self) -> np.ndarray | None:
        """People this module keeps outside the agent arrays: [state, origin, sector, segment].

        They count in the recorder's stocks like agents (the module records their flows) and
        are in the first stage. None when the module keeps nobody outside.
        """
        return None

    def timers(self) -> dict[Timer, Handler]:
        """Handlers of the deterministic events this module owns."""
        return {}

    def hazards(self) -> dict[Hazard, Handler]:
        """Handlers of the stochastic events this module owns."""
        return {}


def overrides(module: Module, hook: str) -> bool:
    """Whether a module implements a hook (the base class's hooks do nothing)."""
    return getattr(type(module), hook) is not getattr(Module, hook)


def merge_fields(*owners: tuple[str, Fields]) -> Fields:
    """The fields of every owner, in order; a name declared twice is an error naming both."""
    out: Fields = {}
    owner_of: dict[str, str] = {}
    for owner, fields in owners:
        for name, spec in fields.items():
            if name in out:
                raise ValueError(f"agent field {name!r} declared by {owner_of[name]} and {owner}")
            out[name] = spec
            owner_of[name] = owner
    return out


def handlers(modules: list[Module], hook: str) -> dict:
    """One dispatch table from every module's ``timers()`` or ``hazards()``; kinds owned once."""
    table: dict = {}
    for m in modules:
        for kind, handler in getattr(m, hook)().items():
            if kind in table:
                raise ValueError(f"{kind!r} handled by two modules")
            table[kind] = handler
    return table
