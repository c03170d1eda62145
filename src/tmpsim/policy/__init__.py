"""Policy levers (overlays that compose on any scenario), shocks, and paired comparisons."""

from tmpsim.policy.levers import LEVERS, Lever, LeverError, apply_levers, parse_levers

__all__ = ["LEVERS", "Lever", "LeverError", "apply_levers", "parse_levers"]
