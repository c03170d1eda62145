"""The lifecycle states an agent can be in, and how the reported metrics are built from them."""

from __future__ import annotations

from enum import IntEnum


class State(IntEnum):
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


N_STATES = len(State)
# "stranded" (the essay's count) is not a sum of states: it counts agents who asked to go home
# (contract ended, job lost, permit cancelled) and are still in the host waiting for a seat or an
# exit permit with a status, whatever bridging status (special_idle, special_working) they hold.
STATE_NAMES = [s.name.lower() for s in State]

IN_HOST = (
    State.EMPLOYED,
    State.JOBLESS,
    State.STRANDED,
    State.SPECIAL_IDLE,
    State.SPECIAL_WORKING,
    State.IRREGULAR,
)
NO_INCOME = (State.JOBLESS, State.STRANDED, State.SPECIAL_IDLE)
WORKING = (State.EMPLOYED, State.SPECIAL_WORKING)

# Composite stock metrics (daily): name -> states whose counts are summed.
STOCK_METRICS: dict[str, tuple[State, ...]] = {
    # People holding the programme's residence status, as official stock statistics count them:
    # working, between employers, away on a home visit with a re-entry permit, or waiting to leave
    # before any special status is granted.
    "programme_stock": (State.EMPLOYED, State.JOBLESS, State.HOME_VISIT, State.STRANDED),
    "employed": WORKING,
    "jobless": (State.JOBLESS,),
    "special_status": (State.SPECIAL_IDLE, State.SPECIAL_WORKING),
    "irregular": (State.IRREGULAR,),
    "awaiting_entry": (State.AWAITING_ENTRY,),
    "in_training": (State.TRAINING,),
    "pool": (State.POOL,),
    "in_host": IN_HOST,
    "other_status": (State.OTHER_STATUS,),
}
