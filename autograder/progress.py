"""Progress display for a grading run: a bar with ETA on a terminal, plain lines otherwise.

Progress(total, stream).update(label, seconds) after each finished submission; .close().
"""

from __future__ import annotations

import sys
import time


def _clock(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    return (f"{hours}:" if hours else "") + f"{rest // 60:02d}:{rest % 60:02d}"


class Progress:
    def __init__(self, total: int, stream=None, width: int = 30):
        self.total = total
        self.done = 0
        self.stream = stream or sys.stdout
        self.width = width
        self.started = time.monotonic()
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def eta(self) -> float | None:
        if not self.done:
            return None
        elapsed = time.monotonic() - self.started
        return elapsed / self.done * (self.total - self.done)

    def update(self, label: str) -> None:
        self.done += 1
        eta = self.eta()
        eta_text = "--:--" if eta is None else _clock(eta)
        if self.tty:
            filled = int(self.width * self.done / max(self.total, 1))
            bar = "#" * filled + "-" * (self.width - filled)
            line = f"\r[{bar}] {self.done}/{self.total}  ETA {eta_text}  {label[:40]:<40}"
            self.stream.write(line)
        else:
            self.stream.write(f"[{self.done}/{self.total}] {label} (ETA {eta_text})\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


class Ticker:
    """Shows that a long step is running: a seconds counter on a terminal, a line otherwise.

    with Ticker("checking the grading environment", stream): ...
    prints "<label> ... 12 s" while the block runs, then "<label>: done in 14 s".
    """

    def __init__(self, label: str, stream=None, interval: float = 1.0):
        self.label = label
        self.stream = stream or sys.stdout
        self.interval = interval
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = 0.0
        self._stop = None
        self._thread = None

    def __enter__(self):
        import threading

        self.started = time.monotonic()
        if self.tty:
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._tick, daemon=True)
            self._thread.start()
        else:
            self.stream.write(f"{self.label} ...\n")
            self.stream.flush()
        return self

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            elapsed = time.monotonic() - self.started
            self.stream.write(f"\r{self.label} ... {elapsed:.0f} s")
            self.stream.flush()

    def __exit__(self, kind, error, trace):
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self.stream.write("\r")
        elapsed = time.monotonic() - self.started
        outcome = "done" if kind is None else "stopped"
        self.stream.write(f"{self.label}: {outcome} in {elapsed:.0f} s\n")
        self.stream.flush()
        return False
