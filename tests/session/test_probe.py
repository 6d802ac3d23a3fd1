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


def test_during_a_walk_the_drawn_probe_waits_for_live_training(session):
    run_commands(session, "step_forward")
    shots = run_commands(session, ("set_probe_image", {"image": a_drawn_seven()}))
    assert shots == [] and "plays again" in session.recorder.texts("message")[-1]
    assert run_commands(session, "step_forward")[-1].probe_split == "train", "the walk shows its own image"
    session.outlet.mailbox.pacer.min_interval = 0
    run_commands(session, "play")
    session.tick()
    assert session.outlet.mailbox.take()[-1].probe_split == "drawn"
