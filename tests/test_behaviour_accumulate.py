"""RTNet's evidence accumulation: stopping rule, thresholds, batching = loop."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from manyseeds.behaviour import accumulate as acc

THRESHOLDS = (3.0, 5.0)


def constant_probs(x, key):
    """A softmax that never changes: class 3 gets x[0, 0, 0], the rest share."""
    top = x[0, 0, 0]
    return jnp.full((10,), (1.0 - top) / 9.0).at[3].set(top)


def random_probs(x, key):
    """A fresh random softmax per key, tilted by the image."""
    logits = 1.5 * jax.random.normal(key, (10,)) + 3.0 * x[0, :10, 0]
    return jax.nn.softmax(logits)


def images_with_top(tops):
    tops = np.asarray(tops, np.float32)
    return jnp.asarray(np.broadcast_to(tops[:, None, None, None], (len(tops), 4, 4, 1)))


@functools.cache
def compiled(probs, shared, slots, max_steps, sequential):
    """One jitted accumulation per setting, shared by the tests."""
    return jax.jit(
        lambda im, ids: acc.accumulate(
            probs, im, ids, jax.random.PRNGKey(7), THRESHOLDS, max_steps, shared,
            slots, sequential,
        )
    )


def run(probs, images, ids, shared, slots=4, max_steps=100, sequential=None):
    fn = compiled(probs, shared, slots, max_steps, sequential)
    return jax.tree.map(np.asarray, fn(images, jnp.asarray(ids)))


@pytest.mark.parametrize("shared", [False, True])
def test_constant_softmax_stops_after_ceil_threshold_over_max_prob(shared):
    # Dyadic probabilities, so the float32 running sums are exact.
    tops = [0.75, 0.625, 0.5, 0.25, 1.0]
    out = run(constant_probs, images_with_top(tops), np.arange(1, 6), shared, slots=2)
    for row, threshold in enumerate(THRESHOLDS):
        expected = np.ceil(threshold / np.asarray(tops))
        np.testing.assert_array_equal(out.rt[row], expected)
    assert (out.choice == 3).all()
    assert not out.capped.any()
    # Confidence: top evidence minus the runner-up, (top - rest) x steps.
    rest = (1.0 - np.asarray(tops)) / 9.0
    np.testing.assert_allclose(
        out.confidence[1], (np.asarray(tops) - rest) * out.rt[1], rtol=1e-5
    )


def test_cap_stops_at_max_steps_and_flags_it():
    out = run(constant_probs, images_with_top([0.25, 0.75]), np.arange(2), False,
              max_steps=10)
    # 0.25 per step: threshold 3 needs 12 > 10 samples; 0.75 needs 4 and 7.
    np.testing.assert_array_equal(out.rt, [[10, 4], [10, 7]])
    np.testing.assert_array_equal(out.capped, [[True, False], [True, False]])


@pytest.mark.parametrize("shared", [False, True])
def test_higher_threshold_never_stops_earlier_on_the_same_samples(shared):
    images = jax.random.uniform(jax.random.PRNGKey(1), (16, 4, 10, 1))
    out = run(random_probs, images, np.arange(100, 116), shared)
    assert (out.rt[1] >= out.rt[0]).all()
    assert out.rt[1].mean() > out.rt[0].mean()


@pytest.mark.parametrize("shared", [False, True])
def test_batching_does_not_change_decisions(shared):
    images = jax.random.uniform(jax.random.PRNGKey(2), (16, 4, 10, 1))
    ids = np.arange(500, 516)
    a = run(random_probs, images, ids, shared)
    # Pool size, slots side by side, and the order of the images do not matter.
    perm = np.random.default_rng(0).permutation(16)
    b = run(random_probs, images[perm], ids[perm], shared, slots=7, sequential=False)
    for field in ("choice", "rt", "capped"):
        np.testing.assert_array_equal(getattr(a, field)[:, perm], getattr(b, field))
    np.testing.assert_allclose(a.confidence[:, perm], b.confidence, rtol=1e-5)


@pytest.mark.parametrize("shared", [False, True])
def test_batched_equals_per_image_loop_on_the_same_keys(shared):
    """The real (smoke) RTNet: batched accumulation = the notebook-style loop."""
    from manyseeds.models import get_model

    spec = get_model("rtnet", "smoke")
    variables = spec.init(jax.random.PRNGKey(0))
    images = spec.prepare(jax.random.uniform(jax.random.PRNGKey(3), (5, 28, 28, 1)))
    ids = np.array([11, 22, 33, 44, 55])
    key = jax.random.PRNGKey(9)
    # Low thresholds keep the untrained network's RTs short (a few samples).
    thresholds = (0.6, 1.2)
    batched = jax.jit(
        lambda v, im: acc.accumulate(
            acc.sample_probs(spec, v), im, ids, key, thresholds, 12, shared, 2
        )
    )
    out = jax.tree.map(np.asarray, batched(variables, images))
    assert out.rt.max() > 2  # several samples were accumulated
    step = acc.step_probs_fn(functools.partial(acc.sample_probs, spec), shared)
    for row, threshold in enumerate(thresholds):
        loop = acc.reference_loop(
            functools.partial(step, variables), np.asarray(images), ids, key,
            threshold, 12, shared,
        )
        np.testing.assert_array_equal(loop["rt"], out.rt[row])
        np.testing.assert_array_equal(loop["choice"], out.choice[row])
        np.testing.assert_allclose(loop["confidence"], out.confidence[row], atol=1e-4)


def test_stage_sizes_shrink_to_at_least_eight():
    assert acc.stage_sizes(480) == (480, 240, 120, 60, 30, 15, 8)
    assert acc.stage_sizes(5) == (5,)


def test_thresholds_must_be_ascending():
    with pytest.raises(ValueError, match="ascending"):
        acc.accumulate(constant_probs, images_with_top([0.5]), np.arange(1),
                       jax.random.PRNGKey(0), (5.0, 3.0), 10)
