"""The daily risk snapshot inside the server (SPEC SG-18): a background thread per server process.

Once an hour (and shortly after start) the thread asks whether today's (UTC) snapshot is due — the
configured time of day has passed — and not yet taken; if so it takes it (``store.risk.take_daily``).
Several processes, on one host or many, may run this thread against one database: the database
decides which one takes the day's snapshot (the first insert of the day's claim row wins), the others
find it claimed or done and go back to sleep. A snapshot that fails releases its claim, and the next
check tries again.

Configuration (environment, as every server setting):

  SECPLANE_RISK_SNAPSHOT_AT   HH:MM (UTC) from which the day's snapshot is due; default 00:00.
                              ``off`` turns the scheduler off (``from_env`` returns None).

Start and stop it with the server: ``RiskScheduler.from_env(db)``, then ``start()`` and ``close()``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as day_time

from secplane.store import risk
from secplane.store.db import Database
from secplane.store.risk import Run

log = logging.getLogger("secplane.risk")

CHECK_EVERY = 3600.0
FIRST_CHECK = 60.0  # after start: let the server settle first


def parse_at(text: str) -> day_time:
    """``HH:MM`` as a UTC time of day; ValueError otherwise."""
    hours, sep, minutes = text.strip().partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit()):
        raise ValueError(f"not HH:MM: {text!r}")
    return day_time(int(hours), int(minutes), tzinfo=UTC)


class RiskScheduler:
    """Takes the day's risk snapshot once it is due (``at``, UTC), checking every ``check_every`` s."""

    def __init__(
        self,
        db: Database,
        at: day_time = day_time(0, 0, tzinfo=UTC),
        check_every: float = CHECK_EVERY,
        first_check: float = FIRST_CHECK,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.at = at.replace(tzinfo=UTC)
        self.check_every = check_every
        self.first_check = first_check
        self.clock = clock
        self.taken_by = f"{socket.gethostname()}:{os.getpid()}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="risk-snapshot", daemon=True)

    @classmethod
    def from_env(cls, db: Database) -> RiskScheduler | None:
        """The scheduler ``SECPLANE_RISK_SNAPSHOT_AT`` asks for; None when it is ``off``."""
        value = os.environ.get("SECPLANE_RISK_SNAPSHOT_AT", "00:00").strip()
        if value.lower() == "off":
            return None
        return cls(db, parse_at(value))

    def start(self) -> None:
        self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Stop checking; a snapshot under way finishes first (up to ``timeout`` seconds are waited)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def due(self, now: float) -> bool:
        moment = datetime.fromtimestamp(now, UTC)
        return moment.timetz() >= self.at

    def check(self) -> Run | None:
        """One check: today's snapshot when it is due and nobody has taken it (or is taking it)."""
        now = self.clock()
        if not self.due(now):
            return None
        return risk.take_daily(self.db, risk.today(now), taken_by=self.taken_by)

    def next_delay(self) -> float:
        """Seconds to the next check: an hour, or less when today's due time comes sooner."""
        now = datetime.fromtimestamp(self.clock(), UTC)
        due = datetime.combine(now.date(), self.at)
        if due <= now:
            due += timedelta(days=1)
        return max(1.0, min(self.check_every, (due - now).total_seconds() + 1.0))

    def _run(self) -> None:
        delay = self.first_check
        while not self._stop.wait(delay):
            try:
                run = self.check()
                if run is not None:
                    seconds = (run.finished_at or run.started_at) - run.started_at
                    log.info(
                        "risk snapshot %s taken: %d groups, %d rules, %d findings in %.1f s",
                        run.day, run.groups, run.rules, run.findings, seconds,
                    )  # fmt: skip
            except Exception:
                log.exception("risk snapshot failed; the next check tries again")
            delay = self.next_delay()
