"""Working days for the case deadlines (云南 measures, ``../shared/domain.md``): written
verification within 15 working days of receiving a case, evidence transferred within 5 working
days of confirming it, a case closed within 60 working days of being opened (30 more when an
administrator extends it).

A working day is a weekday that is not a public holiday, or a weekend day declared a working
day (调休). The holidays come from a file, one date per line, optionally followed by
``workday`` for a weekend day that is worked::

    2026-10-01
    2026-10-02
    2026-10-10 workday   # 调休上班
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from graphfraud.core.errors import GraphfraudError

VERIFY_DAYS = 15
TRANSFER_DAYS = 5
CLOSE_DAYS = 60
EXTENSION_DAYS = 30


@dataclass(frozen=True)
class WorkCalendar:
    holidays: frozenset[dt.date] = field(default_factory=frozenset)
    workdays: frozenset[dt.date] = field(default_factory=frozenset)

    @classmethod
    def load(cls, path: str | Path | None) -> WorkCalendar:
        if path is None:
            return cls()
        path = Path(path)
        holidays, workdays = set(), set()
        try:
            lines = path.read_text(encoding="utf-8-sig").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise GraphfraudError("workbench.holidays_unreadable", path=str(path), detail=str(exc)) from None
        for no, line in enumerate(lines, 1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            parts = text.split()
            try:
                day = dt.date.fromisoformat(parts[0])
            except ValueError:
                raise GraphfraudError("workbench.holidays_bad_line", path=str(path), line=no, column=1,
                                      value=parts[0]) from None
            if len(parts) > 2 or (len(parts) == 2 and parts[1].lower() != "workday"):
                raise GraphfraudError("workbench.holidays_bad_line", path=str(path), line=no,
                                      column=len(parts[0]) + 2, value=" ".join(parts[1:]))
            (workdays if len(parts) == 2 else holidays).add(day)
        return cls(frozenset(holidays), frozenset(workdays))

    def is_working(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add(self, start: dt.date, n: int) -> dt.date:
        """The ``n``-th working day after ``start`` (the day of receipt does not count)."""
        day = start
        left = n
        while left > 0:
            day += dt.timedelta(days=1)
            if self.is_working(day):
                left -= 1
        return day

    def between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end`` (negative when ``end`` is
        before ``start``)."""
        if end < start:
            return -self.between(end, start)
        return sum(1 for i in range(1, (end - start).days + 1) if self.is_working(start + dt.timedelta(days=i)))
