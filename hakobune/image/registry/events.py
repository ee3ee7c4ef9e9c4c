"""Byte progress in the registry's `progress(status, id)` messages.

A message with byte counts ("Downloading", "Pushing") is a `Bytes`: a str
equal to the plain status, so a consumer that prints lines (or a relay that
compares statuses) sees nothing new, and one that draws bars reads
`current` and `total` (0 when unknown).  `Meter` sends them as bytes move,
at most one per `INTERVAL` per layer (the first after one interval), and
the last count when told the transfer is done."""

import time

INTERVAL = 0.1


class Bytes(str):
    current: int
    total: int

    def __new__(cls, status: str, current: int, total: int = 0):
        self = super().__new__(cls, status)
        self.current = current
        self.total = total
        return self


class Meter:
    """Counts the bytes of one transfer and reports them, throttled."""

    def __init__(self, report, status: str, ident: str, total: int = 0, interval: float = INTERVAL,
                 clock=time.monotonic):
        self.report = report
        self.status = status
        self.ident = ident
        self.total = total
        self.interval = interval
        self.clock = clock
        self.current = 0
        self._last = clock()

    def add(self, count: int) -> None:
        self.current += count
        now = self.clock()
        if now - self._last >= self.interval:
            self._last = now
            self.report(Bytes(self.status, self.current, self.total), self.ident)

    def done(self) -> None:
        self.report(Bytes(self.status, self.current, self.total), self.ident)

    def reset(self) -> None:
        """A retry starts again from nothing."""
        self.current = 0
        self._last = self.clock()


class MeteredReader:
    """A binary file object whose reads feed a Meter (a body to send, or a
    response being stored)."""

    def __init__(self, raw, meter: Meter):
        self.raw = raw
        self.meter = meter

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        if data:
            self.meter.add(len(data))
        return data

    def close(self) -> None:
        self.raw.close()
