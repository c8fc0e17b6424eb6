"""ResNet18: batch-norm statistics per seed, used but not updated in evaluation."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from manyseeds.models import get_model


def test_batch_stats_are_per_seed_and_frozen_in_eval():
    spec = get_model("resnet18", "smoke")
    keys = jax.random.split(jax.random.key(0), 2)
    variables = jax.vmap(spec.init)(keys)
    # Same weights for both seeds, different data: only the data can make the
    # running statistics differ.
    variables = jax.tree.map(lambda leaf: jnp.stack([leaf[0], leaf[0]]), variables)
    x = jnp.stack([
        jax.random.uniform(jax.random.key(1), (8, 28, 28, 1)),
        2.0 * jax.random.uniform(jax.random.key(2), (8, 28, 28, 1)),
    ])

    def run(v, x, train):
        return jax.vmap(lambda v, x: spec.apply(v, x, None, train=train))(v, x)

    run = jax.jit(run, static_argnums=2)
    trained, state = run(variables, x, True)
    mean = np.asarray(state["batch_stats"]["stem_bn"]["mean"])
    before = np.asarray(variables["batch_stats"]["stem_bn"]["mean"])
    assert mean.shape == before.shape == (2, 4)
    assert not np.allclose(mean[0], mean[1])
    assert not np.allclose(mean, before)

    logits, frozen = run(variables, x, False)
    assert frozen == {} and logits.shape == (2, 8, 10)
    # Evaluation uses the running statistics: an image's logits do not depend
    # on the rest of its batch (in training they do).
    other = x.at[:, 1:].set(jax.random.uniform(jax.random.key(3), (2, 7, 28, 28, 1)))
    again, _ = run(variables, other, False)
    np.testing.assert_allclose(again[:, 0], logits[:, 0], rtol=1e-5, atol=1e-6)
    trained_other, _ = run(variables, other, True)
    assert not np.allclose(trained[:, 0], trained_other[:, 0])
