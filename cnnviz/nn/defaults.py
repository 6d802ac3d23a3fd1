"""The training defaults, stated once: the command line, the session and the window all read them.

Chosen by measurement (benchmarks/bench_defaults.py; the figures are in the README): Adam at lr 0.003
with its usual betas 0.9/0.999, the rate falling linearly to 5% of that over the run, LeCun-normal
weights. No conv channel died with them on the digits, MNIST or Fashion-MNIST (seeds 0-2), and they
scored best of the candidates tried. The paper's own settings, bias-corrected Adam at lr 0.01 with
beta1 0.95 and beta2 0.99, kill most channels of the seed network's second conv layer within ~100
batches, so they are kept as ``PAPER_SETTINGS``, one flag away (``--paper-settings``), to show dying
ReLUs on purpose. A decay to 5% rather than to 0 scored the same and suits the window, which holds
the end value once its schedule has run (a rate of 0 would stop learning without a word).
"""

from __future__ import annotations

from dataclasses import dataclass

# The weights' initialisation when neither the settings nor the preset name one: LeCun normal, std
# 1/sqrt(fan-in) (see cnnviz.nn.initializers). He's sqrt(2/fan-in), made for ReLU, measured worse for
# the seed network at these settings (MNIST 0.962 vs 0.970, Fashion 0.896 vs 0.900, medians of 3
# seeds). Sigmoid and tanh presets name glorot.
LAYER_INIT = "lecun"


@dataclass(frozen=True)
class TrainingSettings:
    """Everything a fresh run needs besides the data and the architecture.

    optimizer "adam" or "sgd"; lr the base learning rate; beta1, beta2, eps Adam's; momentum SGD's;
    batch_size images per update; schedule one of ``cnnviz.nn.schedule.SCHEDULES`` with ``warmup``
    and ``final`` as in ``Schedule``; init one of ``cnnviz.nn.initializers.INITS``, or None for the
    preset's own ("init" in its JSON, e.g. glorot for sigmoid and tanh) else ``LAYER_INIT``;
    schedule_epochs how many epochs the window's schedule spans before it holds its end value (a
    command-line run's schedule spans the whole run)."""

    optimizer: str = "adam"
    lr: float = 0.003
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    momentum: float = 0.0
    batch_size: int = 32
    schedule: str = "linear"
    warmup: float = 0.0
    final: float = 0.05
    init: str | None = None
    schedule_epochs: float = 2.0

    def schedule_object(self):
        """This run's ``Schedule`` (kind, warmup, final)."""
        from cnnviz.nn.schedule import Schedule

        return Schedule(self.schedule, self.warmup, self.final)


DEFAULTS = TrainingSettings()

# The paper's code: "Adam" at lr 0.01, beta1 0.95, beta2 0.99, batch 32, a constant rate, conv filters
# with std 1/sqrt(F*C*k*k) and dense weights std 0.01. (Its Adam re-zeroed the moments every batch; ours
# is real, bias-corrected Adam, which at these settings takes big steps and kills channels.) Should a
# decay be chosen with them, it ends at the defaults' end value.
PAPER_SETTINGS = TrainingSettings(optimizer="adam", lr=0.01, beta1=0.95, beta2=0.99, eps=1e-8,
                                  batch_size=32, schedule="constant", warmup=0.0, init="paper")
