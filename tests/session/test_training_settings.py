"""The trainer's settings: the defaults stated once, the schedule the window follows, the paper's settings."""

import numpy as np
import pytest

from cnnviz.nn import DEFAULTS, PAPER_SETTINGS, Schedule
from cnnviz.session.trainer import Trainer

from session_helpers import SMALL, run_commands, tiny_dataset


def test_a_fresh_trainer_uses_the_defaults():
    trainer = Trainer(tiny_dataset(), **SMALL)
    assert (trainer.lr, trainer.batch_size, trainer.optimizer_name) == (DEFAULTS.lr, DEFAULTS.batch_size,
                                                                       DEFAULTS.optimizer)
    opt = trainer.optimizer
    assert (opt.beta1, opt.beta2, opt.eps, opt.lr) == (DEFAULTS.beta1, DEFAULTS.beta2, DEFAULTS.eps, DEFAULTS.lr)
    assert trainer.schedule == DEFAULTS.schedule_object()


def test_each_update_uses_the_scheduled_rate_and_the_end_value_holds():
    trainer = Trainer(tiny_dataset(), lr=0.004, batch_size=32, **SMALL)   # 256 images: 8 batches an epoch
    trainer.set_schedule("linear", epochs=1)
    span = trainer.schedule_images
    assert span == 256
    used = []
    for _ in range(12):
        before = trainer.images_seen
        trainer.train_batch()
        used.append((before, trainer.optimizer.lr))
    schedule = Schedule("linear", DEFAULTS.warmup, DEFAULTS.final)
    for before, rate in used:
        assert rate == pytest.approx(schedule.at_images(0.004, before, span))
    assert used[0][1] == pytest.approx(0.004) and used[4][1] < used[1][1]
    assert used[-1][1] == used[-2][1] == pytest.approx(0.004 * DEFAULTS.final)   # past the span: held
    trainer.set_schedule("constant")
    assert trainer.current_lr == trainer.optimizer.lr == 0.004
    trainer.set_lr(0.001)
    assert trainer.optimizer.lr == 0.001


def test_reset_starts_the_schedule_again():
    trainer = Trainer(tiny_dataset(), lr=0.004, schedule="cosine", **SMALL)
    for _ in range(5):
        trainer.train_batch()
    assert trainer.current_lr < 0.004
    trainer.reset()
    assert trainer.current_lr == trainer.optimizer.lr == 0.004


def test_paper_settings_bring_the_papers_optimizer_and_initialisation():
    trainer = Trainer(tiny_dataset(), paper_settings=True, **SMALL)
    opt = trainer.optimizer
    assert (trainer.lr, opt.beta1, opt.beta2) == (0.01, 0.95, 0.99) == (PAPER_SETTINGS.lr, PAPER_SETTINGS.beta1,
                                                                        PAPER_SETTINGS.beta2)
    assert trainer.schedule.kind == "constant"
    conv2 = trainer.model.layers[2].params["W"]
    assert conv2.std() == pytest.approx(1 / np.sqrt(8 * 8 * 5 * 5), rel=0.1)   # the paper's filter init
    trainer.use_settings(paper=False)
    assert trainer.lr == DEFAULTS.lr and trainer.optimizer.beta1 == DEFAULTS.beta1 and trainer.step == 0
    assert trainer.model.layers[2].params["W"].std() == pytest.approx(np.sqrt(1 / 200), rel=0.1)


def test_schedule_and_paper_settings_commands(session):
    taken = run_commands(session, ("set_paper_settings", {"on": True}))
    assert taken[-1].step == 0 and taken[-1].lr == 0.01 and session.trainer.optimizer.beta2 == 0.99
    assert session.settings["paper_settings"] is True and session.settings["lr"] == 0.01
    assert any("paper's settings" in text for text in session.recorder.texts("message"))
    run_commands(session, ("set_schedule", {"kind": "cosine", "epochs": 3}))
    assert session.trainer.schedule.kind == "cosine" and session.trainer.schedule_epochs == 3
    assert "cosine decay" in session.recorder.texts("message")[-1]
    run_commands(session, ("set_paper_settings", {"on": False}))
    assert session.trainer.lr == DEFAULTS.lr and session.trainer.schedule == DEFAULTS.schedule_object()
    assert session.recorder.texts("error") == []


def test_a_new_dataset_keeps_the_paper_settings(session):
    run_commands(session, ("set_paper_settings", {"on": True}))
    session.use_dataset(tiny_dataset(128, 32))
    assert session.trainer.settings is PAPER_SETTINGS and session.trainer.lr == 0.01


@pytest.mark.parametrize("kwargs, words", [
    ({"kind": "bogus"}, "unknown learning-rate schedule 'bogus'"),
    ({"kind": "linear", "epochs": 0}, "positive number of epochs"),
    ({"kind": "linear", "epochs": "many"}, "positive number of epochs"),
])
def test_bad_schedule_commands_are_one_sentence_and_change_nothing(session, kwargs, words):
    before = session.trainer.schedule, session.trainer.schedule_epochs
    run_commands(session, ("set_schedule", kwargs))
    errors = session.recorder.texts("error")
    assert len(errors) == 1 and words in errors[0] and errors[0].endswith(".")
    assert (session.trainer.schedule, session.trainer.schedule_epochs) == before


def test_the_papers_settings_kill_conv2_channels_and_the_defaults_do_not():
    """The lesson --paper-settings is kept for: within 150 batches of the built-in digits real Adam at
    lr 0.01, betas 0.95/0.99 leaves several conv-2 channels never positive on the recent training
    images; the defaults leave none. The tracker, fed after each batch, sees it. On the window's own
    20,000 digits: on only 6,400 of them (so a 3x shorter schedule) one channel died at seed 0."""
    from cnnviz.data import load_dataset
    from cnnviz.nn import ActivityTracker

    data = load_dataset("digits", seed=0)
    found = {}
    for paper in (True, False):
        trainer = Trainer(data, paper_settings=paper, seed=0, val_every=0)
        tracker = ActivityTracker(trainer.model, window=500)
        for _ in range(150):
            trainer.train_batch()
            tracker.observe(trainer.model)
        found[paper] = tracker.dead()
    assert len(found[True][2]) >= 3, found
    assert found[False] == {0: [], 2: []}
