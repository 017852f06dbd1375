"""Lines that native libraries write straight to file descriptor 2, routed to a logger.

Why: mediapipe's C++ (absl logging) and TensorFlow Lite print lines such as
`W0000 00:00:1796497477.933508 1050 inference_feedback_manager.cc:114] Feedback manager
requires a model with a single signature inference...` once per landmark graph it builds, i.e.
for every new person, for as long as a node runs. They bypass every Python and ROS logger (no
severity filter, not on /rosout), the library offers no switch for them (absl's InitializeLog
and its thresholds are not exported by the wheel; GLOG_minloglevel, TF_CPP_MIN_LOG_LEVEL and
ABSL_MIN_LOG_LEVEL change nothing, measured), and they look like errors to an operator.

How: `NativeLogRouter.install()` points fd 2 at a pipe. A reader thread splits what arrives
into lines: a line in a native library's log format (`parse_native_line`) goes, with its
severity, to a handler (a node's ROS logger); every other byte (Python tracebacks, warnings,
the ROS console output itself) goes unchanged to the original stderr. Known, harmless lines
(`EXPECTED_NOISE`) are handed on at debug severity, anything else native keeps its own, so an
unknown native warning is still seen, now with the node's name and on /rosout.

The handler is called from a second thread, never the reader: a handler that logs writes to
fd 2, i.e. into the very pipe the reader empties, so calling it from the reader could block it
on a full pipe. A fatal (`F`) native line is also written raw at once, since the process is
about to abort. `close()` (also run at exit) restores fd 2 and forwards what is still queued.

Set LIFTPOSE_NATIVE_LOGS=raw to leave fd 2 alone (e.g. to see a native crash's last words in
the order they were written).
"""
from __future__ import annotations

import atexit
import os
import queue
import re
import select
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

ENV_SWITCH = "LIFTPOSE_NATIVE_LOGS"  # "raw" = no routing
LEVELS = ("debug", "info", "warning", "error", "fatal")
# absl / glog: severity letter, MMDD, time, thread id, file:line] message
_ABSL = re.compile(r"^([IWEF])\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ ([^\s:\]]+):(\d+)\] ?(.*)$")
# TensorFlow Lite's minimal logger and absl's pre-initialisation notice
_TFLITE = re.compile(r"^(INFO|WARNING|ERROR): (.*)$")
_ABSL_LEVELS = {"I": "info", "W": "warning", "E": "error", "F": "fatal"}
_TFLITE_LEVELS = {"INFO": "info", "WARNING": "warning", "ERROR": "error"}
# Printed by mediapipe 0.10.21 / TFLite in normal operation, nothing an operator can act on.
EXPECTED_NOISE = (
    "Feedback manager requires a model with a single signature inference",
    "Using NORM_RECT without IMAGE_DIMENSIONS is only supported for the square ROI",
    "Created TensorFlow Lite XNNPACK delegate for CPU",
    "All log messages before absl::InitializeLog() is called are written to STDERR",
)
QUEUE_SIZE = 1000  # native lines waiting for the handler; more are counted and dropped
_PARTIAL_WAIT_S = 0.05  # a line without its newline is passed on after this quiet time
_MAX_PENDING = 65536  # bytes of one unfinished line kept back at most


@dataclass(frozen=True)
class NativeLine:
    """One parsed native log line: `level` one of LEVELS, `text` the message with its source."""

    level: str
    text: str


def parse_native_line(line: str) -> NativeLine | None:
    """The line as a native log entry (expected noise demoted to debug), or None when it is not
    in a native library's log format (it then passes through untouched)."""
    line = line.rstrip("\r\n")
    match = _ABSL.match(line)
    if match:
        letter, source, number, message = match.groups()
        level, text = _ABSL_LEVELS[letter], f"{message} ({source}:{number})"
    else:
        match = _TFLITE.match(line)
        if not match:
            return None
        level, text = _TFLITE_LEVELS[match.group(1)], match.group(2)
    if level != "fatal" and any(noise in text for noise in EXPECTED_NOISE):
        level = "debug"
    return NativeLine(level, text)


class NativeLogRouter:
    """Routes native log lines written to fd 2 to `handler(level, text)`; see the module doc.

    One per process at a time (fd 2 is the process's); install() twice is refused.
    """

    _active: NativeLogRouter | None = None
    _lock = threading.Lock()

    def __init__(self, handler: Callable[[str, str], None]) -> None:
        self.handler = handler
        self.routed = 0  # native lines handed to the handler
        self.dropped = 0  # native lines lost because the handler fell behind
        self.handler_errors = 0
        self._saved_fd = -1
        self._read_fd = -1
        self._queue: queue.Queue[NativeLine | None] = queue.Queue(QUEUE_SIZE)
        self._threads: list[threading.Thread] = []

    @property
    def installed(self) -> bool:
        return NativeLogRouter._active is self

    def install(self) -> NativeLogRouter:
        """Point fd 2 at the router; returns self. Raises RuntimeError when another router is
        installed in this process."""
        with NativeLogRouter._lock:
            if NativeLogRouter._active is not None:
                raise RuntimeError("native log lines are already routed in this process")
            self._saved_fd = os.dup(2)
            self._read_fd, write_fd = os.pipe()
            os.dup2(write_fd, 2)  # fd 2 is now the pipe's only write end
            os.close(write_fd)
            NativeLogRouter._active = self
        self._threads = [threading.Thread(target=self._read, name="native-log-reader",
                                          daemon=True),
                         threading.Thread(target=self._dispatch, name="native-log-handler",
                                          daemon=True)]
        for thread in self._threads:
            thread.start()
        atexit.register(self.close)
        return self

    def close(self, timeout_s: float = 2.0) -> None:
        """Give fd 2 back to the original stderr and pass on what is still in the pipe.
        Safe twice."""
        with NativeLogRouter._lock:
            if NativeLogRouter._active is not self:
                return
            os.dup2(self._saved_fd, 2)  # closes the pipe's write end: the reader sees its end
            NativeLogRouter._active = None
        for thread in self._threads:
            thread.join(timeout_s)
        atexit.unregister(self.close)
        if not self._threads[0].is_alive():
            os.close(self._saved_fd)
            self._saved_fd = -1
        # else a child process still holds the pipe: the reader keeps passing its lines on

    def write_raw(self, text: str) -> None:
        """Write to the original stderr (for a handler that prints)."""
        self._write(text.encode("utf-8", "replace"))

    # ------------------------------------------------------------------ threads
    def _read(self) -> None:
        """Split the pipe's bytes into lines: native ones to the queue, the rest passed on."""
        pending = b""
        poller = select.poll()  # not select.select: fd numbers may exceed FD_SETSIZE
        poller.register(self._read_fd, select.POLLIN)
        try:
            while True:
                if not poller.poll(1e3 * _PARTIAL_WAIT_S if pending else None):
                    # a partial line and nothing more: pass it on as it is
                    self._write(pending)
                    pending = b""
                    continue
                chunk = os.read(self._read_fd, 65536)
                if not chunk:
                    break
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    self._route(line + b"\n")
                # a progress display redraws its line with \r and never ends it: pass it on now
                cut = pending.rfind(b"\r") + 1 if len(pending) < _MAX_PENDING else len(pending)
                if cut:
                    self._write(pending[:cut])
                    pending = pending[cut:]
            if pending:
                self._route(pending)
        finally:
            with NativeLogRouter._lock:  # the reader failed: stderr must not end in a dead pipe
                if NativeLogRouter._active is self:
                    os.dup2(self._saved_fd, 2)
                    NativeLogRouter._active = None
            os.close(self._read_fd)
            self._queue.put(None)  # blocks only while the handler works off a full queue

    def _route(self, raw: bytes) -> None:
        entry = parse_native_line(raw.decode("utf-8", "replace"))
        if entry is None:
            self._write(raw)
            return
        if entry.level == "fatal":  # the process aborts next: the handler may not get to it
            self._write(raw)
        try:
            self._queue.put_nowait(entry)
        except queue.Full:
            self.dropped += 1

    def _dispatch(self) -> None:
        while (entry := self._queue.get()) is not None:
            try:
                self.handler(entry.level, entry.text)
                self.routed += 1
            except Exception:  # a logger failing must not stop the routing of the next lines
                self.handler_errors += 1

    def _write(self, data: bytes) -> None:
        fd = self._saved_fd
        while data and fd >= 0:
            try:
                data = data[os.write(fd, data):]
            except InterruptedError:
                continue
            except OSError:  # the original stderr is gone (closed terminal): nothing to do
                return


def route_native_logs(handler: Callable[[str, str], None] | None = None,
                      min_level: str = "warning") -> NativeLogRouter | None:
    """Install a router for this process unless LIFTPOSE_NATIVE_LOGS=raw or one is already
    installed; the router, or None when fd 2 is left alone.

    handler None (command-line tools without a logger): lines at min_level or above are
    printed to the original stderr as `[WARNING] [native]: message (source:line)`, the rest
    (expected noise included) are dropped."""
    if os.environ.get(ENV_SWITCH, "").strip().lower() == "raw":
        return None
    if min_level not in LEVELS:
        raise ValueError(f"min_level must be one of {', '.join(LEVELS)}; got {min_level!r}")
    router = NativeLogRouter(handler or (lambda level, text: None))
    if handler is None:
        lowest = LEVELS.index(min_level)

        def print_line(level: str, text: str) -> None:
            if LEVELS.index(level) >= lowest:
                router.write_raw(f"[{level.upper()}] [native]: {text}\n")

        router.handler = print_line
    try:
        return router.install()
    except (RuntimeError, OSError):
        return None


@contextmanager
def native_logs_routed(handler: Callable[[str, str], None] | None = None,
                       min_level: str = "warning") -> Iterator[NativeLogRouter | None]:
    """`route_native_logs` for the duration of a `with` block (fd 2 is given back after it).
    Leave the block before an exec: the pipe's reader does not survive it."""
    router = route_native_logs(handler, min_level)
    try:
        yield router
    finally:
        if router is not None:
            router.close()
