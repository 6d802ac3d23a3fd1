"""A drawn digit as the probe: normalised like the dataset, shown live, refused with one sentence
when its shape is wrong, and left again with set_probe(index)."""

import numpy as np
import pytest

from cnnviz.session.trainer import drawn_probe

from session_helpers import run_commands


def a_drawn_seven() -> np.ndarray:
    image = np.zeros((1, 28, 28), np.float32)
    image[0, 6, 8:21] = 1.0
    for row in range(7, 23):
        image[0, row, 20 - (row - 7) // 2] = 1.0
    return image


def test_drawn_probe_is_normalised_like_the_dataset(dataset):
    image = a_drawn_seven()
    x = drawn_probe(dataset, image)
    assert x.dtype == np.float32 and x.shape == (1, 28, 28) and not x.flags.writeable
    assert np.allclose(x, (image - dataset.mean) / dataset.std, atol=1e-6)
    assert np.allclose(dataset.display_image(x), image, atol=1e-5)
    assert np.array_equal(drawn_probe(dataset, image[0]), x), "(H, W) is one channel"


@pytest.mark.parametrize("image, words", [
    (np.zeros((28, 27)), "is 28x27"), (np.zeros((3, 28, 28)), "3x28x28"),
    (np.full((1, 28, 28), 255.0), "between 0 and 1"), ("seven", "array of numbers"),
])
def test_bad_drawings_are_refused_in_one_sentence(session, image, words):
    before = session.outlet.mailbox.take()[-1]
    run_commands(session, ("set_probe_image", {"image": image}))
    errors = session.recorder.texts("error")
    assert len(errors) == 1 and words in errors[0] and errors[0].count(".") <= 2, errors
    assert session.trainer.drawn is None
    assert session.outlet.mailbox.latest().probe_split == before.probe_split == "test"


def test_drawn_probe_shows_its_maps_and_prediction(session, dataset):
    image = a_drawn_seven()
    shot = run_commands(session, ("set_probe_image", {"image": image}))[-1]
    assert (shot.probe_split, shot.probe_label, shot.probe_index, shot.probe_loss) == ("drawn", None, None, None)
    assert np.allclose(shot.probe_display, image, atol=1e-5)
    assert np.array_equal(shot.layers[0].input, shot.probe_image)
    assert shot.probs.shape == (10,) and shot.probs.sum() == pytest.approx(1, abs=1e-5)
    target = np.eye(10)[shot.probs.argmax()]   # no label: backward aims at the predicted class
    assert np.allclose(shot.layers[-1].dL_dout, shot.probs - target, atol=1e-6)


def test_drawn_probe_follows_training_then_set_probe_returns_to_the_test_set(session):
    first = run_commands(session, ("set_probe_image", {"image": a_drawn_seven()}))[-1]
    session.outlet.mailbox.pacer.min_interval, session.outlet.mailbox.pacer.budget = 0, float("inf")
    run_commands(session, "play")
    for _ in range(6):
        session.tick()
        live = session.outlet.mailbox.take()[-1]   # taking asks for the next one
    assert live.phase == "training" and live.probe_split == "drawn" and live.step == 6
    assert np.array_equal(live.probe_image, first.probe_image)
    assert not np.allclose(live.probs, first.probs), "predictions change as the weights learn"
    back = run_commands(session, "pause", ("set_probe", {"index": 3}))[-1]
    assert (back.probe_split, back.probe_index) == ("test", 3) and back.probe_label is not None
    assert back.probe_loss is not None and session.trainer.drawn is None


def test_during_a_walk_of_training_images_the_drawn_probe_waits_for_live_training(session):
    run_commands(session, ("set_walk_probe", {"on": False}), "step_forward")
    shots = run_commands(session, ("set_probe_image", {"image": a_drawn_seven()}))
    assert shots == [] and "when this walk of training images ends" in session.recorder.texts("message")[-1]
    assert run_commands(session, "step_forward")[-1].probe_split == "train", "the walk shows its own image"
    session.outlet.mailbox.pacer.min_interval = 0
    run_commands(session, "play")
    session.tick()
    assert session.outlet.mailbox.take()[-1].probe_split == "drawn"


def test_a_new_probe_ends_a_walk_of_the_old_one_and_the_next_walk_takes_it(session):
    first = run_commands(session, "step_forward")[-1]
    assert (first.probe_split, first.probe_index) == ("test", 0)
    shown = run_commands(session, ("set_probe_image", {"image": a_drawn_seven(), "label": 7}))[-1]
    assert shown.phase == "idle" and shown.probe_split == "drawn" and shown.probe_label == 7
    assert session.stepper.walk is None
    walk = run_commands(session, "step_forward")[-1]
    assert (walk.probe_split, walk.probe_label, walk.probe_index) == ("drawn", 7, None)
    assert np.array_equal(walk.probe_image, shown.probe_image)


def test_a_drawn_probe_with_a_label_has_a_loss_against_it(session):
    shot = run_commands(session, ("set_probe_image", {"image": a_drawn_seven(), "label": 3}))[-1]
    assert shot.probe_label == 3 and shot.probe_loss == pytest.approx(-np.log(shot.probs[3]), rel=1e-4)
    assert np.allclose(shot.layers[-1].dL_dout, shot.probs - np.eye(10)[3], atol=1e-6)
    run_commands(session, ("set_probe_image", {"image": a_drawn_seven(), "label": 12}))
    assert "from 0 to 9, not 12" in session.recorder.texts("error")[-1]


def test_the_probe_chooser_picks_by_what_the_network_makes_of_the_test_set(session):
    trainer = session.trainer
    x, y = trainer.dataset.x_test, trainer.dataset.y_test
    probs = trainer.twin.predict_proba(x)
    losses = -np.log(probs[np.arange(len(y)), y])
    run_commands(session, "probe_hardest")
    assert trainer.probe_index == int(np.argmax(losses))
    assert "hardest" in session.recorder.texts("message")[-1]
    run_commands(session, "probe_least_confident")
    assert trainer.probe_index == int(np.argmin(probs.max(axis=1)))
    shot = run_commands(session, "probe_misclassified")[-1]
    wrong = np.flatnonzero(probs.argmax(axis=1) != y)
    assert len(wrong) and trainer.probe_index in wrong and shot.probe_index == trainer.probe_index
    assert shot.probs.argmax() != shot.probe_label, "the probe shown is misclassified"
