"""Layer-by-layer stepping: order of steps, refusals, and exact rewind (step_back)."""

import numpy as np
import pytest

from cnnviz.session.stepper import Stepper, StepRefused
from cnnviz.session.trainer import Trainer

from session_helpers import SMALL


@pytest.fixture
def trainer(dataset):
    return Trainer(dataset, batch_size=16, **SMALL)


@pytest.fixture
def stepper(trainer):
    return Stepper(trainer)


def full_state(trainer):
    """Copies of everything a step can change, to compare with np.array_equal."""
    model = trainer.model
    state = {"counters": (trainer.step, trainer.images_seen, trainer.last_loss, trainer.optimizer.t,
                          trainer.cursor.position)}
    for i, layer in enumerate(model.layers):
        for key in layer.params:
            state[f"W{i}{key}"] = layer.params[key].copy()
            state[f"g{i}{key}"] = layer.grads[key].copy()
        for name, value in layer.cache_state().items():
            state[f"c{i}{name}"] = None if value is None else np.array(value, copy=True)
    for name, value in trainer.optimizer.state_arrays().items():
        state[f"opt{name}"] = value.copy()
    state["curve"] = trainer.curves.as_arrays()["loss"].copy()
    return state


def assert_same_state(a, b):
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], np.ndarray) or isinstance(b[key], np.ndarray):
            assert a[key] is not None and b[key] is not None, key
            assert np.array_equal(a[key], b[key]), key
        else:
            assert a[key] == b[key], key


def walk_all(stepper):
    n = len(stepper.model.layers)
    seen = []
    for _ in range(n + 1):
        stepper.step_forward()
        seen.append((stepper.phase, stepper.layer_index))
    for _ in range(n):
        stepper.step_backward()
        seen.append((stepper.phase, stepper.layer_index))
    stepper.apply_update()
    seen.append((stepper.phase, stepper.layer_index))
    return seen


def test_a_walk_goes_forward_loss_backward_update_in_order(stepper):
    n = len(stepper.model.layers)
    seen = walk_all(stepper)
    expected = ([("forward", i) for i in range(n)] + [("loss", None)]
                + [("backward", i) for i in reversed(range(n))] + [("update", None)])
    assert seen == expected
    assert stepper.trainer.step == 1 and stepper.trainer.images_seen == 1


def test_backward_before_the_loss_and_update_before_backward_are_refused(stepper):
    with pytest.raises(StepRefused, match="loss first"):
        stepper.step_backward()
    stepper.step_forward()
    with pytest.raises(StepRefused):
        stepper.apply_update()
    walk_all_rest = len(stepper.model.layers)
    for _ in range(walk_all_rest):
        stepper.step_forward()
    stepper.step_backward()
    with pytest.raises(StepRefused, match="remaining"):
        stepper.apply_update()


def test_step_back_restores_every_earlier_state_exactly(trainer, stepper):
    trainer.train_batch()            # some Adam history and caches from live training first
    states = [full_state(trainer)]
    n = len(trainer.model.layers)
    for action in [stepper.step_forward] * (n + 1) + [stepper.step_backward] * n + [stepper.apply_update]:
        action()
        states.append(full_state(trainer))
    weights_after = states[-1]
    assert not np.array_equal(weights_after["W0W"], states[0]["W0W"]), "the update changed the weights"
    for expected in reversed(states[:-1]):
        stepper.step_back()
        assert_same_state(full_state(trainer), expected)
    with pytest.raises(StepRefused):
        stepper.step_back()


def test_stepping_again_after_a_step_back_gives_the_same_result(trainer, stepper):
    walk_all(stepper)
    after = full_state(trainer)
    stepper.step_back()               # before the update
    stepper.apply_update()
    assert_same_state(full_state(trainer), after)


def test_a_new_walk_takes_the_next_image_and_step_back_returns_it(trainer, stepper):
    walk_all(stepper)
    first = stepper.walk.indices.copy()
    stepper.step_forward()
    assert stepper.walk.indices[0] != first[0]
    assert (stepper.phase, stepper.layer_index) == ("forward", 0)
    stepper.step_back()
    assert stepper.phase == "update" and np.array_equal(stepper.walk.indices, first)


def test_step_batch_is_recorded_and_can_be_undone(trainer, stepper):
    before = full_state(trainer)
    stepper.step_batch_live()
    assert trainer.step == 1 and trainer.images_seen == trainer.batch_size
    stepper.step_back()
    assert_same_state(full_state(trainer), before)


def test_step_batch_of_several_images(trainer, stepper):
    stepper.set_step_batch(4)
    stepper.step_forward()
    assert stepper.walk.x.shape == (4, 1, 28, 28)
    with pytest.raises(ValueError):
        stepper.set_step_batch(0)


def test_history_is_bounded(trainer):
    from cnnviz.session.stepper import step_history

    stepper = Stepper(trainer, step_history(max_steps=7))
    walk_all(stepper)
    assert len(stepper.history) == 7
    for _ in range(6):
        stepper.step_back()
    with pytest.raises(StepRefused):
        stepper.step_back()


def test_history_byte_budget_drops_the_oldest(trainer):
    from cnnviz.session.stepper import step_history

    stepper = Stepper(trainer, step_history(max_bytes=3_000_000))   # about two weight copies
    for _ in range(3):
        walk_all(stepper)
    assert stepper.history.nbytes <= 3_000_000 or len(stepper.history) == 1
    assert len(stepper.history) < 3 * 20


def test_a_walk_shows_the_gradient_reaching_the_image(trainer, stepper):
    walk_all(stepper)
    first = trainer.model.layers[0]
    assert first.dL_dinput is not None and first.dL_dinput.shape == (1, 1, 28, 28)
    assert trainer.model.input_gradient is False, "live training still skips dL/d(image)"


def test_backward_after_stepping_back_over_another_image_gives_the_first_gradients(trainer, stepper):
    # Between the two backward passes a second image ran forward through every layer, so the
    # gradients come out the same only when step_back put the first image's caches back (the
    # conv's im2col columns and the max-pool's winners included).
    n = len(trainer.model.layers)
    for _ in range(n + 1):
        stepper.step_forward()
    at_loss = len(stepper.history)
    for _ in range(n):
        stepper.step_backward()
    first = [{key: value.copy() for key, value in layer.grads.items()} for layer in trainer.model.layers]
    first_dx = trainer.model.layers[0].dL_dinput.copy()
    stepper.apply_update()
    for _ in range(n + 1):
        stepper.step_forward()                 # the next image, up to its loss
    while len(stepper.history) > at_loss:
        stepper.step_back()
    assert stepper.phase == "loss"
    for _ in range(n):
        stepper.step_backward()
    for layer, grads in zip(trainer.model.layers, first):
        for key, value in grads.items():
            assert np.array_equal(layer.grads[key], value), (layer.name, key)
    assert np.array_equal(trainer.model.layers[0].dL_dinput, first_dx)


def test_forward_after_the_loss_asks_once_before_dropping_the_walk(trainer, stepper):
    n = len(trainer.model.layers)
    for _ in range(n + 1):
        stepper.step_forward()
    assert stepper.phase == "loss"
    walk = stepper.walk
    with pytest.raises(StepRefused, match="step backward .Left. next"):
        stepper.step_forward()
    assert stepper.walk is walk and stepper.phase == "loss"     # nothing lost
    stepper.step_backward()
    with pytest.raises(StepRefused, match="under way"):
        stepper.step_forward()
    for _ in range(n - 1):
        stepper.step_backward()
    with pytest.raises(StepRefused, match="apply the update next"):
        stepper.step_forward()
    stepper.step_forward()                                       # asked twice: a new walk starts
    assert stepper.walk is not walk and stepper.phase == "forward" and stepper.walk.forward_done == 1
    for _ in range(n):
        stepper.step_forward()
    for _ in range(n):
        stepper.step_backward()
    stepper.apply_update()
    walk = stepper.walk
    stepper.step_forward()                                       # a finished walk: no question
    assert stepper.walk is not walk and stepper.phase == "forward"


def test_a_walk_snapshot_says_how_many_images_the_walk_runs(trainer, stepper):
    from cnnviz.session.snapshot import stepper_snapshot

    stepper.set_step_batch(4)
    stepper.step_forward()
    assert stepper_snapshot(trainer, stepper, seq=1).walk_images == 4
    stepper.abandon()
    assert stepper_snapshot(trainer, stepper, seq=2).walk_images is None   # no walk: the probe, as live
