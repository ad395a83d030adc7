"""Live progress at a terminal, fed by the plain callbacks pipeline functions take.

Pipeline code calls ``progress(name, done, total)`` or ``progress(seen, quarantined)`` and never
imports rich; ``Bars`` turns those calls into rich progress lines. A display starts on its first
update and ends at ``close()`` (or the end of a ``with`` block), so one ``Bars`` can follow several
stages in turn, printing results in between.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn,
    TimeRemainingColumn,
)


class Bars:
    """Progress lines on ``console``: a bar per named step, or a running record counter."""

    def __init__(self, console: Console, *, transient: bool = False) -> None:
        self.console = console
        self.transient = transient
        self._live: Progress | None = None
        self._kind = ""
        self._tasks: dict[str, TaskID] = {}

    def step(self, name: str, done: int, total: int | None) -> None:
        """``featurize``-style progress: one bar per encoder (or stage) with done/total and time left."""
        live = self._show("steps")
        if name not in self._tasks:
            self._tasks[name] = live.add_task(name, total=total, q=0)
        live.update(self._tasks[name], completed=done, total=total)

    def records(self, label: str) -> Callable[[int, int], None]:
        """A ``(records seen, quarantined)`` callback drawing '<label> 1,234 records 5 quarantined'."""

        def update(seen: int, quarantined: int) -> None:
            live = self._show("records")
            if label not in self._tasks:
                self._tasks[label] = live.add_task(label, total=None, q=0)
            live.update(self._tasks[label], completed=seen, q=quarantined)

        return update

    def counted(self, label: str) -> Callable[[int, int], None]:
        """A ``(done, total)`` callback drawing one bar named ``label``."""
        return lambda done, total: self.step(label, done, total)

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
        self._live, self._kind, self._tasks = None, "", {}

    def __enter__(self) -> Bars:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def _show(self, kind: str) -> Progress:
        if self._live is not None and self._kind == kind:
            return self._live
        self.close()
        if kind == "records":
            columns = (SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed:,} records"),
                       TextColumn("{task.fields[q]:,} quarantined"), TimeElapsedColumn())
        else:
            columns = (TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(),  # type: ignore[assignment]
                       TimeElapsedColumn(), TimeRemainingColumn())
        self._live = Progress(*columns, console=self.console, transient=self.transient)
        self._live.start()
        self._kind = kind
        return self._live


def dim_lines(console: Console) -> Callable[[str], None]:
    """A ``progress(message)`` callback printing each message dimmed (training, trends)."""
    return lambda message: console.print(f"[dim]{message}[/]", highlight=False)
