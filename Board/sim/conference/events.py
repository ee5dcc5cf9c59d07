"""Event log (JSON lines) and human log lines for the conference server.

Tests read the events file while the server runs, so every line is flushed at once.
"t" is monotonic seconds since the server started, so tests can measure delays
without caring about the wall clock.
"""
import json
import sys
import threading
import time

_START = time.monotonic()


def now():
    """Monotonic seconds since this process started (the "t" of every event)."""
    return round(time.monotonic() - _START, 3)


class EventLog:
    """Writes one JSON object per line to the --events file and log lines to stderr."""

    def __init__(self, path=None, quiet=False):
        self._file = open(path, "a", buffering=1, encoding="utf-8") if path else None
        self._quiet = quiet
        self._lock = threading.Lock()

    def emit(self, event, **fields):
        record = {"t": now(), "event": event, **fields}
        line = json.dumps(record, separators=(",", ":"), default=str)
        with self._lock:
            if self._file:
                self._file.write(line + "\n")
                self._file.flush()
        if event != "media":
            self.info(f"event {line if len(line) < 400 else line[:400] + ' ...'}")

    def info(self, message):
        if not self._quiet:
            self._write(message)

    def error(self, message):
        self._write("ERROR " + message)

    def _write(self, message):
        with self._lock:
            sys.stderr.write(f"[conference-server {now():9.3f}] {message}\n")
            sys.stderr.flush()

    def close(self):
        with self._lock:
            if self._file:
                self._file.close()
                self._file = None
