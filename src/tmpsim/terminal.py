"""Consoles of the command line: nothing is cut when output goes to a file or a pipe.

On a terminal, rich fits tables to its width. Piped or redirected, rich would assume 80 columns
and fold or cut cells; there the tables get all the width they need (``COLUMNS`` still wins when
set), and ``--help`` is laid out 120 columns wide.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console

PIPED_WIDTH = 100_000  # wider than any table: rows keep their natural width
HELP_WIDTH = 120


def stdout_console() -> Console:
    """The console for results on standard output."""
    console = Console()
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(width=PIPED_WIDTH)
    return console


def plain_flags_in_help() -> None:
    """Show flags in ``--help`` without a value type, as options that take no value.

    A flag (``--quiet``, ``--force/--no-force``, ``--help`` itself) is given or not; typer's rich
    help (0.29) prints ``<bool>`` beside every one all the same, as if it wanted a value (typer's
    plain-text help leaves the type out for flags). This makes the rich help do as the plain one
    does, for every command, whichever module declares it.
    """
    from typer.core import TyperOption

    shown = getattr(TyperOption, "display_type_rich", None)
    if shown is None or getattr(shown, "plain_flags", False):
        return  # a typer without the type column, or already done

    def display_type_rich(self: TyperOption, ctx: object) -> str | None:
        if self.is_flag and not self.count:
            return None  # no type column: typer prints none for None
        return shown(self, ctx)

    display_type_rich.plain_flags = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


def widen_piped_help() -> None:
    """Lay out ``--help`` wider when it is piped (typer reads this width when it prints).

    typer's rich helpers take the width from ``TERMINAL_WIDTH`` when first imported, which only
    printing help or an error does: setting the variable (inherited by child processes, which
    would set the same) spares every other command importing them.
    """
    if sys.stdout.isatty() or "COLUMNS" in os.environ or "TERMINAL_WIDTH" in os.environ:
        return
    rich_utils = sys.modules.get("typer.rich_utils")
    if rich_utils is not None:  # already imported: it has read the environment
        rich_utils.MAX_WIDTH = HELP_WIDTH
    else:
        os.environ["TERMINAL_WIDTH"] = str(HELP_WIDTH)
