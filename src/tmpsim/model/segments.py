"""Segments: groups of a programme's workers whose terms differ within an origin.

Singapore's Work Permit holders include migrant domestic workers: women only, placed by other
agencies at other fees, with the employer's bond making running away rarer. A scenario's
``segments`` section names such groups and the terms that differ; each origin gives its share
of entries in each segment, the segment's workers at the start and terms of its own.

The model works on **profiles**: one per (origin, segment), numbered ``origin * n_segments +
segment``, each with the origin's terms where neither the segment nor the origin's entry for it
sets them. Agents carry their profile (the parameters they were drawn with: fees, runaway rate,
ticket home...) beside their origin and segment. A programme without segments has one implicit
segment, and then a profile is an origin.
"""

from __future__ import annotations

from dataclasses import dataclass

from tmpsim.scenario.schema import SEGMENT_TERMS, Origin, Scenario

IMPLICIT = "all"
"""The name of the one segment of a programme without a segments section."""


@dataclass(frozen=True)
class Profile:
    """The workers of one origin in one segment."""

    origin: int
    segment: int
    terms: Origin
    """The origin's terms with the segment's applied (demand_share is the origin's)."""
    share: dict[int, float]
    """Share of the origin's entries in this segment, by year (interpolated)."""
    initial_stock: dict[str, float]
    """Workers in the host at the start, by stage."""


def segment_names(scenario: Scenario) -> list[str]:
    """The scenario's segments, or the one implicit segment."""
    return list(scenario.segments) or [IMPLICIT]


def profiles(scenario: Scenario) -> list[Profile]:
    """Every (origin, segment) profile, origin by origin (profile ``o * n_segments + s``)."""
    if not scenario.segments:
        return [
            Profile(o, 0, origin, {2000: 1.0}, dict(origin.initial_stock))
            for o, origin in enumerate(scenario.origins.values())
        ]
    out = []
    for o, origin in enumerate(scenario.origins.values()):
        for s, (name, segment) in enumerate(scenario.segments.items()):
            own = origin.segments.get(name)
            terms = _apply(origin, segment)
            if own is None:  # none of the origin's workers are in this segment
                out.append(Profile(o, s, terms, {2000: 0.0}, {}))
            else:
                share, stock = own.share_by_year(), dict(own.initial_stock)
                out.append(Profile(o, s, _apply(terms, own), share, stock))
    return out


def _apply(origin: Origin, terms) -> Origin:
    """``origin`` with the terms set in ``terms`` (stage tables merged stage by stage)."""
    update = {}
    for name in SEGMENT_TERMS:
        value = getattr(terms, name)
        if value is None:
            continue
        if name == "continue_prob":
            value = {**origin.continue_prob, **value}
        update[name] = value
    return origin.model_copy(update=update)
