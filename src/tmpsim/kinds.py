"""The kinds of things in the model, in one place: states, hazards and timers.

Each kind is an ``IntEnum``; everything else about it (the names a scenario uses, which hazards
apply in which state, the constants compiled kernels compare with) is derived from these tables.
Adding a hazard is one member here, its row in ``HAZARDS_BY_STATE`` and its handler (registered
by the module that owns it, see ``tmpsim.engine.module``).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Kind(IntEnum):
    """An ``IntEnum`` whose members NumPy takes as the plain ints they are, without delay.

    NumPy asks the class of an int subclass it is given (``ids[state == State.EMPLOYED]``,
    ``np.full(n, point)``) for ``__array_ufunc__`` or ``__array_function__``. Python 3.11's
    ``Enum`` answers a missing class attribute through a ``__getattr__`` that raises, so each
    such operation cost some 5-10 µs more than with an int. Naming NumPy's own defaults tells
    it the members need nothing of their own: the same results, without the lookups' cost.
    """

    __array_ufunc__ = np.ndarray.__array_ufunc__
    __array_function__ = np.ndarray.__array_function__


class State(Kind):
    """Where an agent is in the migration lifecycle; every agent is in exactly one."""

    POOL = 0  # standby applicant in the sending country
    TRAINING = 1  # selected, fee paid, in pre-departure training
    AWAITING_ENTRY = 2  # cleared to go, waiting for a visa, a seat or an open border
    EMPLOYED = 3  # working under the programme's status, on a contract
    JOBLESS = 4  # lost the job, status still valid, looking for another employer
    STRANDED = 5  # contract over or job lost, wants to go home, cannot (no seat / border closed)
    SPECIAL_IDLE = 6  # special bridging status granted to those who cannot return, not working
    SPECIAL_WORKING = 7  # special bridging status, working
    IRREGULAR = 8  # left the employer (missing) or overstayed
    HOME_VISIT = 9  # programme-required home visit between stages (re-entry permit held)
    RETURNED = 10  # back home
    OTHER_STATUS = 11  # moved to another residence status (e.g. Specified Skilled Worker)
    DROPPED = 12  # left the pool or the pipeline before entering


class Hazard(Kind):
    """Kinds of stochastic events (competing hazards); NONE: draw again (rates change)."""

    NONE = 0
    DISMISSAL = 1
    RUNAWAY = 2
    JOB_FINDING = 3
    STATUS_SWITCH = 4
    APPREHENSION = 5
    CANCELLATION = 6
    VOLUNTARY_CHANGE = 7


class Timer(Kind):
    """Kinds of deterministic events (one pending per agent)."""

    NONE = 0
    TRAINING_END = 1
    CONTRACT_END = 2
    GRACE_END = 3
    STATUS_EXPIRY = 4
    HOME_VISIT_END = 5
    POOL_TIMEOUT = 6
    CANCEL = 7
    GRANT = 8
    EXIT_PERMIT = 9
    SPECIAL_JOB_END = 10
    REVIEW = 11  # the stranded reconsider their way out (routes)
    PROCESSED = 12  # a chosen change of status is decided (routes.processing)


N_STATES = len(State)
STATE_NAMES = [s.name.lower() for s in State]
STATE_BY_NAME = {s.name.lower(): s for s in State}
# Where a dated measure may move people: a status grant to a bridge, without work or with it; a
# job-change route to work, under the programme's status or on a bridge. Moving anyone elsewhere
# is the model's own business (a return needs a seat).
BRIDGING_STATES = (State.SPECIAL_IDLE, State.SPECIAL_WORKING)
WORKING_STATES = (State.EMPLOYED, State.SPECIAL_WORKING)
# Whom an exit amnesty may let go home: those in the host without the programme's status, whose
# way home the model otherwise gives only when caught (irregular) or when a bridge ends.
AMNESTY_STATES = (State.IRREGULAR, State.SPECIAL_IDLE, State.SPECIAL_WORKING)

# The hazards that apply in each state (a state not listed has none).
HAZARDS_BY_STATE: dict[State, tuple[Hazard, ...]] = {
    State.EMPLOYED: (
        Hazard.DISMISSAL,
        Hazard.RUNAWAY,
        Hazard.CANCELLATION,
        Hazard.VOLUNTARY_CHANGE,
    ),
    State.JOBLESS: (Hazard.JOB_FINDING, Hazard.RUNAWAY, Hazard.STATUS_SWITCH),
    State.STRANDED: (Hazard.JOB_FINDING, Hazard.RUNAWAY, Hazard.STATUS_SWITCH),
    State.SPECIAL_IDLE: (Hazard.JOB_FINDING, Hazard.RUNAWAY, Hazard.STATUS_SWITCH),
    State.SPECIAL_WORKING: (Hazard.DISMISSAL, Hazard.RUNAWAY, Hazard.STATUS_SWITCH),
    State.IRREGULAR: (Hazard.APPREHENSION,),
}

# Hazards a scenario's events may scale by name (the voluntary change has no multiplier).
EVENT_HAZARDS = (
    Hazard.DISMISSAL,
    Hazard.RUNAWAY,
    Hazard.JOB_FINDING,
    Hazard.STATUS_SWITCH,
    Hazard.APPREHENSION,
    Hazard.CANCELLATION,
)
HAZARD_BY_NAME = {h.name.lower(): h for h in EVENT_HAZARDS}
HAZARD_NAMES = {h: name for name, h in HAZARD_BY_NAME.items()}
