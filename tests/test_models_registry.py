"""`get_model` and `ModelSpec`: seeds, rng streams, prepare, sizes, errors."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from manyseeds.errors import UserError
from manyseeds.models import ARCHS, get_model


@pytest.mark.parametrize("arch", ["resnet18", "rtnet"])
def test_vmapped_init_equals_each_seed_alone(arch):
    spec = get_model(arch, "smoke")
    keys = jax.random.split(jax.random.key(7), 3)
    stacked = jax.jit(jax.vmap(spec.init))(keys)
    params = jax.tree.leaves(stacked["params"])

    for leaf in params:
        assert leaf.shape[0] == 3
    # Every random leaf differs between seeds (constants, e.g. zero biases or
    # batch-norm scales, are equal by design).
    random_leaves = [leaf for leaf in params if float(jnp.std(leaf[0])) > 0]
    assert random_leaves
    for leaf in random_leaves:
        assert not np.allclose(leaf[0], leaf[1])
        assert not np.allclose(leaf[1], leaf[2])
    for i in range(3):
        alone = spec.init(keys[i])
        jax.tree.map(
            lambda s, a, i=i: np.testing.assert_allclose(s[i], a, rtol=1e-6, atol=1e-7),
            stacked, alone,
        )


def test_flags_and_streams():
    alexnet, resnet, rtnet = (get_model(a, "smoke") for a in ARCHS)
    assert alexnet.rng_streams == ("dropout",) and not alexnet.bayesian
    assert resnet.rng_streams == () and resnet.has_batch_stats
    assert set(rtnet.rng_streams) == {"dropout", "sample"} and rtnet.bayesian
    assert not alexnet.has_batch_stats and not rtnet.has_batch_stats
    assert alexnet.num_classes == resnet.num_classes == rtnet.num_classes == 10


def test_prepare_resizes_bilinear_without_normalising():
    spec = get_model("alexnet", "paper")
    images = jax.random.uniform(jax.random.key(0), (2, 28, 28, 1))
    x = jax.jit(spec.prepare)(images)
    assert x.shape == (2, 227, 227, 1) and x.dtype == jnp.float32
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    # Bilinear resizing keeps a constant image constant and the mean about equal.
    flat = spec.prepare(jnp.full((1, 28, 28, 1), 0.25))
    np.testing.assert_allclose(flat, 0.25, atol=1e-6)
    np.testing.assert_allclose(x.mean(), images.mean(), atol=0.01)
    small = get_model("alexnet", "smoke")
    np.testing.assert_array_equal(small.prepare(images), images)


def test_alexnet_dropout_follows_rng_in_training_only():
    spec = get_model("alexnet", "smoke")
    variables = spec.init(jax.random.key(0))
    x = jax.random.uniform(jax.random.key(1), (4, 28, 28, 1))
    apply = jax.jit(spec.apply, static_argnames="train")
    a, state = apply(variables, x, jax.random.key(2), train=True)
    b, _ = apply(variables, x, jax.random.key(3), train=True)
    c, _ = apply(variables, x, jax.random.key(2), train=True)
    assert state == {}
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(a, c)
    e1, _ = apply(variables, x, jax.random.key(2), train=False)
    e2, _ = apply(variables, x, jax.random.key(3), train=False)
    np.testing.assert_array_equal(e1, e2)


def test_kl_of_deterministic_networks_is_zero():
    for arch in ("alexnet", "resnet18"):
        spec = get_model(arch, "smoke")
        shapes = jax.eval_shape(spec.init, jax.random.key(0))
        assert float(spec.kl(shapes["params"])) == 0.0
        assert spec.kl_weight(60_000, 128) == 0.0


def test_rtnet_kl_weight_follows_the_setting():
    assert get_model("rtnet", "paper").kl_weight(60_000, 500) == pytest.approx(1 / 500)
    standard = get_model("rtnet", "paper", rtnet_variant="standard")
    assert standard.kl_weight(60_000, 500) == pytest.approx(1 / 60_000)
    mixed = get_model("rtnet", "quick", kl_scaling="original")
    assert mixed.kl_weight(12_000, 128) == pytest.approx(1 / 128)


def test_flops_match_a_hand_count():
    spec = get_model("alexnet", "paper")
    convs = [  # (output side, out channels, kernel, in channels)
        (55, 96, 11, 1), (27, 256, 5, 96), (13, 384, 3, 256), (13, 384, 3, 384),
        (13, 256, 3, 384),
    ]
    macs = sum(s * s * c * k * k * i for s, c, k, i in convs)
    macs += 9216 * 4096 + 4096 * 4096 + 4096 * 10
    assert spec.flops_per_image() == 2 * macs
    resnet = get_model("resnet18", "paper")
    assert resnet.flops_per_image() > 0
    kinds = {layer.kind for layer in resnet.layers()}
    assert kinds == {"conv", "norm", "dense"}


def test_memory_estimate_grows_with_batch_and_covers_adam():
    for arch in ARCHS:
        spec = get_model(arch, "quick")
        count = spec.describe()["param_count"]
        small, large = spec.train_memory_bytes(1), spec.train_memory_bytes(256)
        assert small >= 4 * 4 * count  # params, grads, two Adam moments
        assert large > small
    rtnet, alexnet = get_model("rtnet", "paper"), get_model("alexnet", "paper")
    assert rtnet.train_memory_bytes(500) > alexnet.train_memory_bytes(500)


def test_describe_is_json_ready():
    for arch in ARCHS:
        info = get_model(arch, "quick", init="torch").describe()
        text = json.dumps(info)
        assert info["arch"] == arch and info["init"] == "torch"
        assert info["input_shape"] == [28, 28, 1]
        assert "param_count" in text
    assert get_model("rtnet", "quick").describe()["rtnet"]["variant"] == "standard"
    assert get_model("rtnet", "paper").describe()["rtnet"]["prior_mean"] == 1.0


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [(("vgg", "quick"), {}), (("alexnet", "huge"), {}),
     (("alexnet", "quick"), {"init": "glorot"}),
     (("alexnet", "quick"), {"prior_mean": 0.0}),
     (("rtnet", "quick"), {"rtnet_variant": "fancy"}),
     (("rtnet", "quick"), {"prior_means": 0.0})],
)
def test_bad_choices_are_user_errors(args, kwargs):
    with pytest.raises(UserError):
        get_model(*args, **kwargs)
