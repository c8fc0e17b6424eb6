"""Readout of deterministic networks: choice, logit margin, off-task responses."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from manyseeds.behaviour import readout


def test_confidence_is_the_logit_margin_on_a_hand_made_example():
    logits = jnp.array([
        [0.5, 2.0, 7.25, 1.0, 6.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [-1.0, -3.0, -2.0, -0.5, -4.0, -5.0, -6.0, -7.0, -8.0, -9.0],
    ])
    choice, confidence = readout.margin(logits)
    np.testing.assert_array_equal(choice, [2, 3])
    np.testing.assert_allclose(confidence, [1.25, 0.5])


def test_restricted_readout_ignores_0_and_9():
    logits = jnp.array([[9.0, 1.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 8.0]])
    choice, confidence = readout.margin(readout.restrict_logits(logits, True))
    assert int(choice[0]) == 2
    np.testing.assert_allclose(confidence, [1.0])
    full_choice, full_margin = readout.margin(readout.restrict_logits(logits, False))
    assert int(full_choice[0]) == 0
    np.testing.assert_allclose(full_margin, [1.0])


def test_responses_0_and_9_are_missing():
    choice = np.array([0, 9, 3, 5])
    labels = np.array([0, 1, 3, 6])
    cols = readout.trial_columns(choice, labels, np.array([1.0, 2.0, 3.0, 4.0]),
                                 rt=np.array([5, 6, 7, 8]))
    assert np.isnan(cols["response"][:2]).all()
    assert np.isnan(cols["correct"][:2]).all()
    assert np.isnan(cols["confidence"][:2]).all()
    assert np.isnan(cols["rt"][:2]).all()
    np.testing.assert_array_equal(cols["response"][2:], [3, 5])
    np.testing.assert_array_equal(cols["correct"][2:], [1.0, 0.0])
    np.testing.assert_array_equal(cols["confidence"][2:], [3.0, 4.0])


def test_off_task_as_error_keeps_the_trial_like_the_authors_files():
    cols = readout.trial_columns(
        np.array([0, 9]), np.array([0, 2]), np.array([1.0, 2.0]), off_task="error"
    )
    assert np.isnan(cols["response"]).all()
    # A correct 0 is still off the task; the authors' `acc` kept it.
    np.testing.assert_array_equal(cols["correct"], [1.0, 0.0])
    np.testing.assert_array_equal(cols["confidence"], [1.0, 2.0])
    with pytest.raises(ValueError):
        readout.trial_columns(
            np.array([1]), np.array([1]), np.array([1.0]), off_task="x"
        )


@dataclasses.dataclass(frozen=True, eq=False)
class LinearSpec:
    """A tiny deterministic 'network': logits = flattened image @ W."""

    arch: str = "alexnet"

    def apply(self, variables, x, rng, train):
        assert not train
        return x.reshape(x.shape[0], -1) @ variables["params"]["w"], {}


def test_readout_fn_matches_the_margin_of_each_image_in_any_batch():
    w = jax.random.normal(jax.random.PRNGKey(0), (16, 10))
    images = jax.random.uniform(jax.random.PRNGKey(1), (7, 4, 4, 1))
    variables = {"params": {"w": w}}
    logits = images.reshape(7, -1) @ w
    want_choice, want_margin = readout.margin(logits)
    for batch in (1, 3, 7):
        choice, margin = jax.jit(readout.readout_fn(LinearSpec(), False, batch))(
            variables, images
        )
        np.testing.assert_array_equal(choice, want_choice)
        np.testing.assert_allclose(margin, want_margin, rtol=1e-5)
