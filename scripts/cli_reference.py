#!/usr/bin/env python
"""Write docs/cli.md, the command-line reference, from the ``tmpsim`` commands themselves.

Usage (from the repository root)::

    .venv/bin/python scripts/cli_reference.py            # rewrite docs/cli.md
    .venv/bin/python scripts/cli_reference.py --check    # exit 1 if docs/cli.md is out of date

Every command and command group of the Typer app is listed with its help text, its arguments and
its options (type, default), in the order ``tmpsim --help`` lists them. A test checks that the
file is up to date.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import typer

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "cli.md"
HEADER = """\
# Command-line reference

Generated from the commands by `scripts/cli_reference.py`; `tmpsim COMMAND --help` prints the
same. Commands that need an optional part of tmpsim say which extra installs it when it is
missing (see the README's Quick start).
"""


def param_type(param: Any, ctx: Any) -> str:
    """A parameter's type as the help shows it."""
    if getattr(param, "is_flag", False):
        return "flag"
    shown = param.display_type(ctx) if hasattr(param, "display_type") else param.type.name
    return cell(str(shown).lower().strip("<>")) or "text"


def cell(text: str) -> str:
    """Text fit for one cell of a markdown table."""
    return " ".join(str(text).split()).replace("|", "\\|")


def param_row(param: Any, ctx: Any) -> str | None:
    """One table row for an argument or option (None for hidden ones and --help)."""
    if param.hidden or param.name == "help":
        return None
    default = param.default
    if param.param_type_name == "option":
        names = ", ".join(f"`{n}`" for n in [*param.opts, *param.secondary_opts])
        if param.is_flag and param.secondary_opts and default is None:
            shown = ""  # neither: the help says what decides
        elif param.is_flag and param.secondary_opts:
            shown = f"`{param.opts[0] if default else param.secondary_opts[0]}`"
        elif default is None or default == () or default is False or param.is_flag:
            shown = ""
        else:
            shown = f"`{default}`"
    else:
        names = f"`{param.name.upper()}`"
        shown = "" if default is None else f"`{default}`"
    required = " (required)" if param.required else ""
    kind = param_type(param, ctx)
    return f"| {names} | {kind} | {shown} | {cell(param.help or '')}{required} |"


def command_section(path: list[str], command: Any, ctx: Any) -> list[str]:
    """The markdown of one command, and of its subcommands if it is a group."""
    title = " ".join(path)
    lines = [f"## `{title}`", ""]
    text = (command.help or "").strip()
    if text:
        lines += [text, ""]
    usage = " ".join(command.collect_usage_pieces(ctx))
    lines += ["```console", f"{title} {usage}".rstrip(), "```", ""]
    rows = [r for r in (param_row(p, ctx) for p in command.params) if r]
    if rows:
        lines += ["| argument or option | type | default | what |", "| --- | --- | --- | --- |"]
        lines += [*rows, ""]
    for name, sub, sub_ctx in subcommands(command, ctx):
        lines += command_section([*path, name], sub, sub_ctx)
    return lines


def subcommands(group: Any, ctx: Any) -> list[tuple[str, Any, Any]]:
    """A group's visible commands (none for a plain command), each with its context."""
    if not hasattr(group, "list_commands"):
        return []
    found = []
    for name in group.list_commands(ctx):
        sub = group.get_command(ctx, name)
        if sub is not None and not sub.hidden:
            found.append((name, sub, sub.context_class(sub, info_name=name, parent=ctx)))
    return found


def render() -> str:
    """The whole reference."""
    from tmpsim.cli import app

    group = typer.main.get_command(app)
    ctx = group.context_class(group, info_name="tmpsim")
    commands = subcommands(group, ctx)
    lines = [HEADER, "```console", "tmpsim [--version] [--help] COMMAND [ARGS]...", "```", ""]
    lines += ["| command | what |", "| --- | --- |"]
    for name, cmd, _ in commands:
        lines.append(f"| [`{name}`](#tmpsim-{name}) | {cell(cmd.get_short_help_str(200))} |")
    lines.append("")
    for name, cmd, cmd_ctx in commands:
        lines += command_section(["tmpsim", name], cmd, cmd_ctx)
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write docs/cli.md, or with --check compare it with what would be written."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        same = OUT.is_file() and OUT.read_text("utf-8") == text
        print(f"{OUT.relative_to(ROOT)}: {'up to date' if same else 'out of date'}")
        return 0 if same else 1
    OUT.write_text(text, "utf-8")
    print(f"{OUT.relative_to(ROOT)}: {text.count('## `')} commands")
    return 0


if __name__ == "__main__":
    sys.exit(main())
