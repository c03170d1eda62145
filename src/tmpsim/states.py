"""How the reported metrics are built from the lifecycle states (the states are in ``kinds``)."""

from __future__ import annotations

from tmpsim.kinds import N_STATES, STATE_NAMES, State

__all__ = [
    "IN_HOST",
    "N_STATES",
    "NO_INCOME",
    "STATE_NAMES",
    "STOCK_METRICS",
    "STRANDED_SPLIT",
    "WORKING",
    "State",
]

# "stranded" (the essay's count) is not a sum of states: it counts agents who asked to go home
# (contract ended, job lost, permit cancelled) and are still in the host waiting for a seat or an
# exit permit with a status, whatever bridging status (special_idle, special_working) they hold.

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

# The stranded (a flag, counted by state) split by whether they work, daily: the flagged agents
# summed over these states. At work: still employed while a bridge is decided, or on a working
# bridge; out of work: waiting for a seat with no status, jobless, or on a bridge without work.
STRANDED_SPLIT: dict[str, tuple[State, ...]] = {
    "stranded_at_work": WORKING,
    "stranded_out_of_work": NO_INCOME,
}
