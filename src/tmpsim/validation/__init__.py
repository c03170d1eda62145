"""Validation: compare runs with official statistics, indicator by indicator.

``validate_run(source, observed_files=None)`` returns the validation table of a run folder, an
experiment folder or a Result against the packaged statistics of its host country
(``packaged_observed(host)``; ``packaged_hosts()`` lists them) or user files in the long format
``date,indicator,origin,value,source``. See ``docs/validation.md``.
"""

from tmpsim.validation.compare import compare, summarise, validate_run
from tmpsim.validation.indicators import REGISTRY, Indicator, UnknownIndicator, resolve
from tmpsim.validation.observed import (
    ObservedDataError,
    load_observed,
    packaged_files,
    packaged_hosts,
    packaged_observed,
)

__all__ = [
    "REGISTRY",
    "Indicator",
    "ObservedDataError",
    "UnknownIndicator",
    "compare",
    "load_observed",
    "packaged_files",
    "packaged_hosts",
    "packaged_observed",
    "resolve",
    "summarise",
    "validate_run",
]
