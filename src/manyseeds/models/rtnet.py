"""RTNet's network: AlexNet with a mean-field Gaussian over every weight and bias.

RTNet (Rafiei, Shekhar & Rahnev, 2024) is a Bayesian neural network trained by
variational inference: every weight and bias w has a posterior
q(w) = N(mu, softplus(rho)^2), independent of all others (mean field), and a
prior p(w) = N(prior_mean, prior_scale^2). Training maximises the ELBO,
E_q[log p(y | x, w)] - KL(q || p) (Blundell et al., 2015, "Weight uncertainty
in neural networks"), with w drawn by the reparameterisation trick
w = mu + softplus(rho) * eps, eps ~ N(0, 1) (Kingma & Welling, 2014). The KL of
two Gaussians has a closed form, taken here from
`numpyro.distributions.kl_divergence`.

One forward pass draws ONE weight sample, from the `sample` rng stream, shared
by every image of the batch; this is RTNet's unit of "one more look" at an
image (RTNet's evidence accumulation draws a fresh sample per step). Written for
one instance; `manyseeds.training` lifts it over `[seed, ...]`.

Where the defaults follow the ORIGINAL RTNet code (the notebook `train.ipynb`
of github.com/frafiei3/RTNet, pyro 0.2.1) rather than the paper text, which
only says "ELBO loss" and "Adam with the default parameters":

- prior N(1, 1) on every weight and bias (`prior_mean=1.0`, `prior_scale=1.0`);
  the usual choice, and the `standard` variant's, is N(0, 1);
- posterior means initialised N(0, 1) (`mean_init="normal"`), not with a
  layer-size-aware initialiser;
- scale parameters rho initialised N(0, 1), scale = softplus(rho)
  (`rho_init_mean=0.0`, `rho_init_std=1.0`), so initial scales are ~0.3-1.3;
- the KL is added once per minibatch to the SUMMED log-likelihood of the batch
  (pyro's `Trace_ELBO` without dataset scaling): in the package's per-batch
  loss `mean cross-entropy + kl_weight * KL` this is `kl_weight = 1 /
  batch_size` (`kl_scaling="original"`); the standard ELBO spreads the KL
  over the training set, `kl_weight = 1 / num_train` (`kl_scaling="standard"`);
- dropout 0.5 stays on at test time (`test_dropout=True`): the notebook calls
  `F.dropout` without a training flag, whose default is on;
- input normalised with mean 0.1307, sd 0.3081 (`RTNetPreset.input_mean/std`);
- the learning rate 0.01 of the original code is a training setting
  (`manyseeds.config`), not a model one.

One deliberate difference from the original code: pyro's `Trace_ELBO`
estimates the KL by Monte Carlo at the drawn weight sample (log q - log p);
here it is in closed form, which has the same expectation and less noise.

`variant="standard"` gives a textbook Bayes-by-backprop network: prior N(0, 1),
KL scaled by the training set size, posterior means from the model's
initialiser (`init="default"` or `"torch"`), and small initial scales
(rho = -5, scale ~0.0067). Dropout at test time stays on in both variants
(it is RTNet's, not the prior's, choice); set `test_dropout=False` to turn it
off.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpyro.distributions as dist
from flax import linen as nn

from manyseeds.errors import UserError
from manyseeds.models.alexnet import AlexNet, padding
from manyseeds.models.initializers import Init, Initializer
from manyseeds.models.presets import RTNetPreset

VARIANTS = ("original", "standard")
KL_SCALINGS = ("original", "standard")
MEAN_INITS = ("normal", "framework")


@dataclasses.dataclass(frozen=True)
class RTNetSettings:
    """The Bayesian settings of an RTNet (defaults: the original RTNet code).

    Attributes:
      variant: the name of the setting these values came from.
      prior_mean, prior_scale: the Gaussian prior on every weight and bias
        (original code: N(1, 1); standard: N(0, 1)).
      mean_init: "normal" (posterior means ~ N(0, 1), original code) or
        "framework" (the model's initialiser, standard).
      rho_init_mean, rho_init_std: rho ~ N(mean, std), scale = softplus(rho)
        (original: N(0, 1); standard: rho = -5, scale ~0.0067).
      kl_scaling: "original" (KL once per minibatch of summed log-likelihood:
        kl_weight = 1 / batch_size) or "standard" (kl_weight = 1 / num_train).
      test_dropout: keep dropout on in evaluation mode (original: True).
    """

    variant: str = "original"
    prior_mean: float = 1.0
    prior_scale: float = 1.0
    mean_init: str = "normal"
    rho_init_mean: float = 0.0
    rho_init_std: float = 1.0
    kl_scaling: str = "original"
    test_dropout: bool = True

    def __post_init__(self):
        checks = (
            ("variant", self.variant, VARIANTS),
            ("mean_init", self.mean_init, MEAN_INITS),
            ("kl_scaling", self.kl_scaling, KL_SCALINGS),
        )
        for field, value, allowed in checks:
            if value not in allowed:
                raise UserError(f"RTNet {field} {value!r}; expected one of {allowed}")
        if self.prior_scale <= 0:
            raise UserError(f"RTNet prior_scale {self.prior_scale}; expected > 0")

    def kl_weight(self, num_train: int, batch_size: int) -> float:
        """Multiplier of the KL in `mean cross-entropy + kl_weight * KL`."""
        return 1.0 / (batch_size if self.kl_scaling == "original" else num_train)


def rtnet_settings(variant: str = "original", **overrides: Any) -> RTNetSettings:
    """The settings of a named variant, with any field overridden.

    Args:
      variant: "original" (the original RTNet code) or "standard" (prior
        N(0, 1), KL / num_train, framework mean init, scales ~0.0067).
      **overrides: any `RTNetSettings` field, e.g. `test_dropout=False`.
    """
    if variant not in VARIANTS:
        raise UserError(f"unknown RTNet variant {variant!r}; expected one of {VARIANTS}")
    base = RTNetSettings()
    if variant == "standard":
        base = RTNetSettings(
            variant="standard", prior_mean=0.0, prior_scale=1.0,
            mean_init="framework", rho_init_mean=-5.0, rho_init_std=0.0,
            kl_scaling="standard", test_dropout=True,
        )
    unknown = set(overrides) - {f.name for f in dataclasses.fields(RTNetSettings)}
    if unknown:
        raise UserError(f"unknown RTNet option(s) {sorted(unknown)}")
    return dataclasses.replace(base, **overrides)


def _normal(mean: float, std: float) -> Init:
    def init(key, shape, dtype=jnp.float32):
        return mean + std * jax.random.normal(key, shape, dtype)

    return init


class _Gaussian(nn.Module):
    """Base of the Bayesian layers: declares (mu, rho) and draws one sample."""

    settings: RTNetSettings
    initializer: Initializer

    def gaussian(self, name: str, shape: tuple[int, ...], mean_init: Init) -> jax.Array:
        """One reparameterised sample `mu + softplus(rho) * eps` of `name`."""
        s = self.settings
        if s.mean_init == "normal":
            mean_init = _normal(0.0, 1.0)
        mu = self.param(f"{name}_mu", mean_init, shape)
        rho = self.param(f"{name}_rho", _normal(s.rho_init_mean, s.rho_init_std), shape)
        eps = jax.random.normal(self.make_rng("sample"), shape, mu.dtype)
        return mu + jax.nn.softplus(rho) * eps


class BayesConv(_Gaussian):
    """A 2-D convolution whose kernel and bias are mean-field Gaussians."""

    features: int = 1
    kernel: int = 1
    stride: int = 1
    pad: int = 0

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        fan_in = self.kernel * self.kernel * x.shape[-1]
        shape = (self.kernel, self.kernel, x.shape[-1], self.features)
        w = self.gaussian("kernel", shape, self.initializer.conv_kernel())
        b = self.gaussian("bias", (self.features,), self.initializer.bias(fan_in))
        y = jax.lax.conv_general_dilated(
            x, w, (self.stride, self.stride), padding(self.pad),
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
        )
        return y + b


class BayesDense(_Gaussian):
    """A dense layer whose kernel and bias are mean-field Gaussians."""

    features: int = 1

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        fan_in = x.shape[-1]
        w = self.gaussian("kernel", (fan_in, self.features), self.initializer.dense_kernel())
        b = self.gaussian("bias", (self.features,), self.initializer.bias(fan_in))
        return x @ w + b


class RTNet(AlexNet):
    """RTNet's Bayesian AlexNet for one instance; one weight sample per call.

    Needs the rng streams `sample` (weights, in training and evaluation) and
    `dropout` (training, and evaluation when `settings.test_dropout`).

    Attributes:
      rtnet: the RTNet preset (body, input normalisation).
      settings: prior, initialisation, KL scaling and test-time dropout.
    """

    rtnet: RTNetPreset | None = None
    settings: RTNetSettings = RTNetSettings()

    def conv(self, features, kernel, stride, pad, fan_in, name):
        return BayesConv(self.settings, self.initializer, features, kernel, stride, pad,
                         name=name)

    def dense(self, features, fan_in, name):
        return BayesDense(self.settings, self.initializer, features, name=name)

    def normalise(self, x: jax.Array) -> jax.Array:
        """(x - 0.1307) / 0.3081 by default (original RTNet code)."""
        return (x - self.rtnet.input_mean) / self.rtnet.input_std

    def dropout_on(self, train: bool) -> bool:
        return train or self.settings.test_dropout


def gaussian_pairs(params: Any) -> list[tuple[jax.Array, jax.Array]]:
    """Every (mu, rho) pair of a parameter tree, found by the `_mu`/`_rho` names."""
    pairs = []
    if isinstance(params, Mapping):
        for key, value in params.items():
            if isinstance(key, str) and key.endswith("_mu"):
                pairs.append((value, params[key[:-3] + "_rho"]))
            elif isinstance(value, Mapping):
                pairs.extend(gaussian_pairs(value))
    return pairs


def kl_to_prior(params: Any, settings: RTNetSettings) -> jax.Array:
    """KL(q || p) summed over every Gaussian weight and bias (a scalar).

    Closed form for two Gaussians (numpyro's `kl_divergence` of `Normal`s):
    log(s_p / s_q) + (s_q^2 + (mu_q - mu_p)^2) / (2 s_p^2) - 1/2.

    Args:
      params: one instance's `params` tree (no seed axis; vmap for many).
      settings: the prior.
    """
    prior = dist.Normal(settings.prior_mean, settings.prior_scale)
    total = jnp.zeros((), jnp.float32)
    for mu, rho in gaussian_pairs(params):
        q = dist.Normal(mu, jax.nn.softplus(rho))
        total = total + jnp.sum(dist.kl_divergence(q, prior))
    return total
