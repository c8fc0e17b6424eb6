"""The presets: every architecture under every name, the paper's exact sizes."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

from manyseeds.config import ARCHS, PRESETS
from manyseeds.models import MODEL_PRESETS, get_model


def _abstract_logits(spec, batch=2):
    """Logits' shape from tracing only (no weights allocated)."""
    variables = jax.eval_shape(spec.init, jax.random.key(0))
    x = jax.ShapeDtypeStruct((batch, spec.input_size, spec.input_size, 1), jnp.float32)
    logits, _ = jax.eval_shape(
        lambda v, x: spec.apply(v, x, jax.random.key(1), train=True), variables, x
    )
    return variables, logits


def test_every_arch_has_every_preset():
    assert tuple(MODEL_PRESETS) == ARCHS
    for arch in ARCHS:
        assert set(MODEL_PRESETS[arch]) == set(PRESETS)


@pytest.mark.parametrize(
    ("arch", "count", "size"),
    [("alexnet", 58_299_082, 227), ("resnet18", 11_175_370, 28),
     ("rtnet", 2 * 58_299_082, 227)],
)
def test_paper_sizes_are_exact(arch, count, size):
    spec = get_model(arch, "paper")
    variables, logits = _abstract_logits(spec)
    assert spec.param_count(variables) == count
    assert spec.input_size == size
    assert logits.shape == (2, 10)


def test_paper_alexnet_layer_shapes_follow_the_protocol():
    spec = get_model("alexnet", "paper")
    outputs = [layer.outputs for layer in spec.layers()]
    # 227 -> conv1 k11 s4 -> 55 -> pool -> 27 -> conv2 -> 27 -> pool -> 13 ->
    # conv3-5 -> 13 -> pool -> 6 -> fc 4096, 4096, 10
    assert outputs == [55 * 55 * 96, 27 * 27 * 256, 13 * 13 * 384, 13 * 13 * 384,
                       13 * 13 * 256, 4096, 4096, 10]


@pytest.mark.parametrize("arch", ARCHS)
def test_quick_output_shape_and_cost(arch):
    spec = get_model(arch, "quick")
    _, logits = _abstract_logits(spec, batch=3)
    assert logits.shape == (3, 10)
    assert spec.input_size == 28
    # Sized for a CPU (see presets.py): about 0.5-3 MFLOPs per image.
    assert 0.5e6 <= spec.flops_per_image() <= 3e6


@pytest.mark.parametrize("arch", ARCHS)
def test_smoke_runs_and_is_tiny(arch):
    spec = get_model(arch, "smoke")
    variables = spec.init(jax.random.key(0))
    x = jnp.full((2, 28, 28, 1), 0.5)
    logits, _ = jax.jit(spec.apply, static_argnames="train")(
        variables, x, jax.random.key(1), train=False
    )
    assert logits.shape == (2, 10)
    assert bool(jnp.all(jnp.isfinite(logits)))
    assert spec.param_count(variables) < 5_000
