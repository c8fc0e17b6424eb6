"""The initialisers: PyTorch's bounds, Flax's default law, torchvision's He."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from manyseeds.errors import UserError
from manyseeds.models import Initializer, get_model
from manyseeds.models.initializers import (
    draw_variables,
    normal_from,
    open_uniform,
    torch_bound,
    truncated_normal_from,
)


def _layers(params):
    """(name, kernel, bias or None) of every layer of a params tree."""
    for name, node in params.items():
        if "kernel" in node:
            yield name, np.asarray(node["kernel"]), node.get("bias")
        elif isinstance(node, dict):
            yield from _layers(node)


def test_torch_init_is_uniform_within_one_over_sqrt_fan_in():
    spec = get_model("alexnet", "quick", init="torch")
    params = spec.init(jax.random.key(0))["params"]
    seen = 0
    for _, kernel, bias in _layers(params):
        bound = torch_bound(math.prod(kernel.shape[:-1]))
        for values in (kernel, np.asarray(bias)):
            assert np.abs(values).max() <= bound
            if values.size >= 1000:  # a uniform's extremes reach the bound
                assert np.abs(values).max() > 0.95 * bound
                assert np.std(values) == pytest.approx(bound / math.sqrt(3), rel=0.1)
                seen += 1
    assert seen >= 4


def test_default_init_is_flax_lecun_normal_with_zero_bias():
    spec = get_model("alexnet", "quick")
    params = spec.init(jax.random.key(0))["params"]
    for _, kernel, bias in _layers(params):
        std = math.sqrt(1.0 / math.prod(kernel.shape[:-1]))
        assert np.all(np.asarray(bias) == 0.0)
        assert np.abs(kernel).max() <= 2 * std / 0.87962566 + 1e-6  # truncated at 2 sd
        if kernel.size >= 5000:
            assert np.std(kernel) == pytest.approx(std, rel=0.05)


def test_torchvision_resnet_convs_are_he_normal_fan_out():
    spec = get_model("resnet18", "quick", init="torchvision")
    params = spec.init(jax.random.key(0))["params"]
    kernel = np.asarray(params["stage4_block2"]["conv1"]["kernel"])
    fan_out = kernel.shape[-1] * kernel.shape[0] * kernel.shape[1]
    assert np.std(kernel) == pytest.approx(math.sqrt(2.0 / fan_out), rel=0.05)
    bn = params["stage4_block2"]["bn1"]
    assert np.all(np.asarray(bn["scale"]) == 1) and np.all(np.asarray(bn["bias"]) == 0)
    fc_bound = torch_bound(params["fc"]["kernel"].shape[0])
    assert np.abs(np.asarray(params["fc"]["kernel"])).max() <= fc_bound


def test_laws_from_one_uniform():
    u = open_uniform(jax.random.key(0), (200_000,))
    assert float(u.min()) > -1.0 and float(u.max()) < 1.0
    z = np.asarray(normal_from(2.0, 3.0)(u))
    assert np.all(np.isfinite(z))
    assert z.mean() == pytest.approx(2.0, abs=0.03)
    assert z.std() == pytest.approx(3.0, rel=0.01)
    t = np.asarray(truncated_normal_from(0.5)(u))
    assert t.std() == pytest.approx(0.5, rel=0.01)
    assert np.abs(t).max() <= 2 * 0.5 / 0.87962566 + 1e-6


def test_draw_variables_fills_constants_and_is_pure():
    template = {
        "layer": {"kernel": jax.ShapeDtypeStruct((4, 3), jnp.float32),
                  "bias": jax.ShapeDtypeStruct((3,), jnp.float32)},
        "bn": {"scale": jax.ShapeDtypeStruct((3,), jnp.float32),
               "bias": jax.ShapeDtypeStruct((3,), jnp.float32)},
    }
    law = Initializer("torch").leaf_law
    a = draw_variables(template, jax.random.key(0), law)
    b = draw_variables(template, jax.random.key(0), law)
    c = draw_variables(template, jax.random.key(1), law)
    np.testing.assert_array_equal(a["layer"]["kernel"], b["layer"]["kernel"])
    assert not np.allclose(a["layer"]["kernel"], c["layer"]["kernel"])
    np.testing.assert_array_equal(a["bn"]["scale"], 1.0)
    np.testing.assert_array_equal(a["bn"]["bias"], 0.0)
    assert float(jnp.abs(a["layer"]["bias"]).max()) > 0  # torch biases are random


def test_unknown_initialiser_is_a_user_error():
    with pytest.raises(UserError):
        Initializer("xavier")
