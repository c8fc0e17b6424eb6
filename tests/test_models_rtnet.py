"""RTNet: one weight sample per call, the closed-form KL, the settings."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from manyseeds.errors import UserError
from manyseeds.models import RTNetSettings, get_model, rtnet_settings
from manyseeds.models.rtnet import kl_to_prior, sample_weights


@pytest.fixture(scope="module")
def rtnet():
    spec = get_model("rtnet", "smoke")
    variables = spec.init(jax.random.key(0))
    x = jax.random.uniform(jax.random.key(1), (3, 28, 28, 1))
    return spec, variables, x


def test_two_sample_keys_give_different_logits_one_key_the_same(rtnet):
    spec, variables, x = rtnet
    apply = jax.jit(spec.apply, static_argnames="train")
    for train in (True, False):
        a, state = apply(variables, x, jax.random.key(5), train=train)
        b, _ = apply(variables, x, jax.random.key(6), train=train)
        c, _ = apply(variables, x, jax.random.key(5), train=train)
        assert state == {}
        assert a.shape == (3, 10)
        assert not np.allclose(a, b)
        np.testing.assert_array_equal(a, c)


def test_one_sample_is_shared_by_the_batch(rtnet):
    spec, variables, x = rtnet
    apply = jax.jit(spec.apply, static_argnames="train")
    both, _ = apply(variables, jnp.concatenate([x[:1], x[:1]]), jax.random.key(3),
                    train=False)
    # Dropout masks differ per image; with them off, the two copies of one image
    # see the same weights.
    off = get_model("rtnet", "smoke", test_dropout=False)
    same, _ = jax.jit(off.apply, static_argnames="train")(
        variables, jnp.concatenate([x[:1], x[:1]]), jax.random.key(3), train=False
    )
    np.testing.assert_allclose(same[0], same[1], rtol=1e-6)
    assert not np.allclose(both[0], both[1])


def test_sample_is_reparameterised():
    posterior = {"fc": {"kernel_mu": jnp.full((200, 100), 0.5),
                        "kernel_rho": jnp.full((200, 100), -1.0)}}
    w = sample_weights(posterior, jax.random.key(0))["fc"]["kernel"]
    sigma = float(jax.nn.softplus(-1.0))
    assert float(w.mean()) == pytest.approx(0.5, abs=0.01)
    assert float(w.std()) == pytest.approx(sigma, rel=0.02)
    # Gradients reach both the mean and the scale through the sample.
    grads = jax.grad(lambda p: jnp.sum(sample_weights(p, jax.random.key(0))["fc"]
                                       ["kernel"] ** 2))(posterior)
    assert float(jnp.abs(grads["fc"]["kernel_rho"]).sum()) > 0
    assert float(jnp.abs(grads["fc"]["kernel_mu"]).sum()) > 0


def _posterior(mu, sigma):
    rho = np.log(np.expm1(sigma))  # softplus^-1
    return {"layer": {"kernel_mu": jnp.asarray(mu, jnp.float32),
                      "kernel_rho": jnp.asarray(rho, jnp.float32),
                      "bias_mu": jnp.asarray(mu[0], jnp.float32),
                      "bias_rho": jnp.asarray(rho[0], jnp.float32)}}


def test_kl_is_zero_at_the_prior():
    settings = rtnet_settings("original")
    shape = (4, 3)
    posterior = _posterior(np.full(shape, 1.0), np.full(shape, 1.0))
    assert float(kl_to_prior(posterior, settings)) == pytest.approx(0.0, abs=1e-5)
    moved = _posterior(np.full(shape, 1.5), np.full(shape, 1.0))
    assert float(kl_to_prior(moved, settings)) > 0.1


def test_kl_matches_a_monte_carlo_estimate():
    settings = RTNetSettings(prior_mean=0.3, prior_scale=0.8)
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(3, 2))
    sigma = rng.uniform(0.2, 1.5, size=(3, 2))
    exact = float(kl_to_prior(_posterior(mu, sigma), settings))

    # KL(q || p) = E_q[log q(w) - log p(w)], over the kernel and the bias.
    def log_normal(w, m, s):
        return -0.5 * ((w - m) / s) ** 2 - np.log(s) - 0.5 * np.log(2 * np.pi)

    total = 0.0
    for m, s in ((mu, sigma), (mu[0], sigma[0])):
        w = m + s * rng.normal(size=(400_000, *m.shape))
        diff = log_normal(w, m, s) - log_normal(w, 0.3, 0.8)
        total += diff.mean(axis=0).sum()
    assert exact == pytest.approx(total, rel=0.02)


def test_spec_kl_sums_every_layer(rtnet):
    spec, variables, _ = rtnet
    params = variables["params"]
    assert set(params["conv1"]) == {"kernel_mu", "kernel_rho", "bias_mu", "bias_rho"}
    kl = float(jax.jit(spec.kl)(params))
    layer_kl = jax.jit(kl_to_prior, static_argnums=1)
    one_layer = float(layer_kl({"conv1": params["conv1"]}, spec.settings))
    assert kl > one_layer > 0


def test_original_and_standard_settings():
    original = rtnet_settings()
    assert (original.prior_mean, original.prior_scale) == (1.0, 1.0)
    assert original.mean_init == "normal" and original.kl_scaling == "original"
    assert (original.rho_init_mean, original.rho_init_std) == (0.0, 1.0)
    assert original.test_dropout
    standard = rtnet_settings("standard")
    assert (standard.prior_mean, standard.kl_scaling) == (0.0, "standard")
    assert standard.mean_init == "framework"
    assert not rtnet_settings("standard", test_dropout=False).test_dropout
    with pytest.raises(UserError):
        RTNetSettings(kl_scaling="per-batch")


def test_initial_posterior_follows_the_variant():
    original = get_model("rtnet", "quick", rtnet_variant="original")
    params = original.init(jax.random.key(0))["params"]
    mu = np.asarray(params["fc1"]["kernel_mu"])
    rho = np.asarray(params["fc1"]["kernel_rho"])
    assert mu.mean() == pytest.approx(0.0, abs=0.02)
    assert mu.std() == pytest.approx(1.0, rel=0.03)
    assert rho.std() == pytest.approx(1.0, rel=0.03)
    standard = get_model("rtnet", "quick")
    params = standard.init(jax.random.key(0))["params"]
    np.testing.assert_array_equal(params["fc1"]["kernel_rho"], -5.0)
    np.testing.assert_array_equal(params["fc1"]["bias_mu"], 0.0)  # Flax default
    fan_in = params["fc1"]["kernel_mu"].shape[0]
    assert float(params["fc1"]["kernel_mu"].std()) == pytest.approx(
        fan_in**-0.5, rel=0.05
    )
