"""A processing-rate cap that picks evenly spread frames.

Why: on a small machine a detector that takes every frame it can keeps the CPU saturated, and
the lifter, the transport and the camera driver then queue behind it, so the latency's tail
grows even though more frames are answered. Capping the rate trades frames nobody needs (a
robot planning at 20 Hz gains little from 25) for CPU headroom, which is what shortens the
tail. The choice keeps the average rate, not the gap: a 30 Hz camera capped at 20 Hz gets two
frames out of every three, not one out of two. The caller gives each frame's time; the
keypoint node gives the arrival time, which every frame has, where a stamp may be missing (0)
or repeat.
"""
from __future__ import annotations

# A frame may come this share of a period early and still be taken: frame times jitter, and
# without it a 30 Hz stream capped at 30 Hz would lose every frame that came a little early.
EARLY_TOLERANCE = 0.25


class RateLimit:
    """Admits frames at no more than `max_rate_hz` on average over time (0 = admit all).

    Each admitted frame makes the next one due a period later (counted from when this one was
    due, so the average rate holds). A frame within EARLY_TOLERANCE of a period of its due time
    counts as due. After a pause longer than a period the schedule restarts at the next frame,
    so no burst follows; when times go backwards it restarts too."""

    def __init__(self, max_rate_hz: float) -> None:
        if not max_rate_hz >= 0.0:  # also refuses NaN
            raise ValueError(f"max_rate_hz must be >= 0 (0 = no cap); got {max_rate_hz!r}")
        self.period_ns = int(round(1e9 / max_rate_hz)) if max_rate_hz > 0 else 0
        self._due_ns: int | None = None
        self._last_ns: int | None = None

    @property
    def enabled(self) -> bool:
        return self.period_ns > 0

    def admit(self, time_ns: int) -> bool:
        """Whether the frame at `time_ns` is processed; call once per frame, in order."""
        if not self.enabled:
            return True
        went_back = self._last_ns is not None and time_ns < self._last_ns
        self._last_ns = time_ns
        if self._due_ns is None or went_back or time_ns - self._due_ns > self.period_ns:
            self._due_ns = time_ns  # first frame, a pause or a restart: take this one
        early_ns = int(EARLY_TOLERANCE * self.period_ns)
        if time_ns < self._due_ns - early_ns:
            return False
        self._due_ns += self.period_ns
        return True
