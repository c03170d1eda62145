"""A progress bar for experiments: runs done, failed, left, and the time left."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from tmpsim.experiments.experiment import Counts, ProgressHook


@contextmanager
def experiment_bar(description: str, console: Console | None = None) -> Iterator[ProgressHook]:
    """Yield a ``progress(counts)`` hook drawing a rich bar on stderr.

    The time left is estimated from the runs finished in this invocation (runs skipped because
    an earlier invocation finished them do not count towards the speed).
    """
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn(
            "{task.fields[done]} done, [red]{task.fields[failed]} failed[/], "
            "{task.fields[left]} left"
        ),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        transient=False,
    )
    state: dict[str, int] = {}

    def hook(counts: Counts) -> None:
        if "task" not in state:
            # The bar counts only this invocation's work, so the ETA uses this invocation's speed.
            state["task"] = bar.add_task(
                description,
                total=counts.left,
                done=counts.done,
                failed=counts.failed,
                left=counts.left,
            )
            state["left0"] = counts.left
        bar.update(
            state["task"],
            completed=state["left0"] - counts.left,
            done=counts.done,
            failed=counts.failed,
            left=counts.left,
        )

    with bar:
        yield hook
