"""Learning-rate schedules: the rate at step t of a run of T steps, as a fraction of the base rate.

``constant`` keeps the base rate. ``linear`` falls in a straight line from the base rate to
``final`` x base at the end of the run; ``cosine`` follows half a cosine between the same two ends
(slow at first and last, fastest in the middle). Both may start with a linear warm-up from 0 over
the first ``warmup`` fraction of the run. After the end (t > T) the rate stays at its end value.

A command-line run knows T (epochs x batches per epoch). The window trains for as long as it is
left running, so there a schedule spans a stated number of epochs and then holds its end value: see
``Schedule.at_images``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SCHEDULES = ("constant", "linear", "cosine")


@dataclass(frozen=True)
class Schedule:
    """kind: one of SCHEDULES; warmup: fraction of the run (0..1) spent rising from 0 to the base
    rate; final: the end rate as a fraction of the base rate (linear and cosine only)."""

    kind: str = "constant"
    warmup: float = 0.0
    final: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULES:
            raise ValueError(f"unknown learning-rate schedule {self.kind!r}; choose {', '.join(SCHEDULES)}.")
        for name, value in (("warmup", self.warmup), ("final", self.final)):
            if not (isinstance(value, (int, float)) and 0 <= value <= 1):
                raise ValueError(f"a schedule's {name} must be a fraction from 0 to 1, not {value!r}.")
        if self.warmup == 1 and self.kind != "constant":
            raise ValueError("a decaying schedule needs some of the run after its warm-up; warmup must be below 1.")

    def factor(self, progress: float) -> float:
        """The rate as a fraction of the base rate at ``progress`` through the run (0 = start,
        1 = end; below 0 counts as 0, above 1 as 1)."""
        p = min(max(float(progress), 0.0), 1.0)
        if self.warmup and p < self.warmup:
            return p / self.warmup
        if self.kind == "constant":
            return 1.0
        decay = (p - self.warmup) / (1.0 - self.warmup)
        if self.kind == "linear":
            shape = 1.0 - decay
        else:
            shape = 0.5 * (1.0 + math.cos(math.pi * decay))
        return self.final + (1.0 - self.final) * shape

    def lr(self, base_lr: float, step: int, total_steps: int) -> float:
        """The rate for update number ``step`` (0-based) of ``total_steps``: the first update uses
        progress 0, the last (step T-1) progress (T-1)/T, so a decay to 0 never spends a step at 0."""
        return base_lr * self.factor(step / max(int(total_steps), 1))

    def at_images(self, base_lr: float, images_seen: int, span_images: int) -> float:
        """The window's rate after ``images_seen`` training images, the schedule spanning the first
        ``span_images`` (a stated number of epochs) and then holding its end value. Counting images
        rather than steps keeps the schedule's timing when the batch size changes mid-run."""
        return base_lr * self.factor(images_seen / max(int(span_images), 1))

    def describe(self) -> str:
        """E.g. "linear decay to 0", "cosine decay to 5% after a 2% warm-up", "constant"."""
        if self.kind == "constant":
            text = "constant"
        else:
            text = f"{self.kind} decay to {'0' if not self.final else f'{self.final:.0%}'}"
        return text + (f" after a {self.warmup:.0%} warm-up" if self.warmup else "")
