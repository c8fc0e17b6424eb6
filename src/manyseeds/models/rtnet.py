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

One forward pass draws ONE weight sample, from the `sample` key, shared by
every image of the batch; this is RTNet's unit of "one more look" at an image
(its evidence accumulation draws a fresh sample per step). The network is the
deterministic AlexNet body (`RTNetBody`) run on that sample, so the Bayesian
part is two pure functions of the posterior tree: `sample_weights` and
`kl_to_prior`. The posterior tree mirrors AlexNet's parameters with every leaf
`w` replaced by `w_mu` and `w_rho`, hence exactly twice AlexNet's parameter
count. All noise of one sample comes from a single `jax.random.normal` call
(one compiled random block instead of one per layer). Written for one
instance; `manyseeds.training` lifts it over `[seed, ...]`.

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
off. NOTE: the quick and smoke presets use the standard variant, because the
small quick network does not learn under the original settings in its budget
(see `manyseeds.models.presets`); the paper preset uses the original ones.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpyro.distributions as dist

from manyseeds.errors import UserError
from manyseeds.models.alexnet import AlexNet
from manyseeds.models.initializers import FromUniform, Initializer, normal_from

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
        raise UserError(
            f"unknown RTNet variant {variant!r}; expected one of {VARIANTS}"
        )
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


class RTNetBody(AlexNet):
    """The AlexNet that RTNet runs on each weight sample.

    Attributes:
      input_mean, input_std: input normalisation (original RTNet code: 0.1307,
        0.3081).
      test_dropout: dropout stays on in evaluation mode (original: True).
    """

    input_mean: float = 0.1307
    input_std: float = 0.3081
    test_dropout: bool = True

    def normalise(self, x: jax.Array) -> jax.Array:
        """(x - mean) / sd, as the original RTNet's input transform."""
        return (x - self.input_mean) / self.input_std

    def dropout_on(self, train: bool) -> bool:
        return train or self.test_dropout


def posterior_template(body: Mapping[str, Any]) -> dict[str, Any]:
    """The posterior's tree of shapes: every body leaf `w` -> `w_mu`, `w_rho`."""
    out = {}
    for name, value in body.items():
        if isinstance(value, Mapping):
            out[name] = posterior_template(value)
        else:
            out[f"{name}_mu"] = value
            out[f"{name}_rho"] = value
    return out


def posterior_law(settings: RTNetSettings, initializer: Initializer):
    """The initial law of each posterior leaf, for `draw_variables`.

    `*_mu`: N(0, 1) (original code) or the body's own initial law
    (`mean_init="framework"`); `*_rho`: N(rho_init_mean, rho_init_std^2).
    """

    def law(name: str, shape: tuple[int, ...], siblings: Mapping[str, Any]
            ) -> FromUniform | float:
        if name.endswith("_rho"):
            if settings.rho_init_std == 0:
                return settings.rho_init_mean
            return normal_from(settings.rho_init_mean, settings.rho_init_std)
        if not name.endswith("_mu"):
            raise ValueError(f"RTNet posterior leaf {name!r} is neither _mu nor _rho")
        if settings.mean_init == "normal":
            return normal_from(0.0, 1.0)
        body_siblings = {k[:-3]: v for k, v in siblings.items() if k.endswith("_mu")}
        return initializer.leaf_law(name[:-3], shape, body_siblings)

    return law


def _pairs(posterior: Mapping[str, Any], prefix: tuple[str, ...] = ()):
    """`(path, name, mu, rho)` of every Gaussian leaf, in tree order."""
    for key, value in posterior.items():
        if isinstance(value, Mapping):
            yield from _pairs(value, (*prefix, key))
        elif key.endswith("_mu"):
            yield prefix, key[:-3], value, posterior[key[:-3] + "_rho"]


def sample_weights(posterior: Mapping[str, Any], key: jax.Array) -> dict[str, Any]:
    """One weight sample `w = mu + softplus(rho) * eps`, eps ~ N(0, 1).

    The reparameterisation trick (Kingma & Welling, 2014; Blundell et al.,
    2015): gradients reach mu and rho through the sample. All eps come from one
    `jax.random.normal` call.

    Args:
      posterior: one instance's posterior tree (`*_mu`, `*_rho` leaves).
      key: the sample key.

    Returns:
      The body's parameter tree.
    """
    pairs = list(_pairs(posterior))
    total = sum(math.prod(mu.shape) for _, _, mu, _ in pairs)
    eps = jax.random.normal(key, (total,), jnp.float32)
    weights: dict[str, Any] = {}
    offset = 0
    for path, name, mu, rho in pairs:
        size = math.prod(mu.shape)
        noise = eps[offset:offset + size].reshape(mu.shape)
        offset += size
        node = weights
        for part in path:
            node = node.setdefault(part, {})
        node[name] = mu + jax.nn.softplus(rho) * noise
    return weights


def kl_to_prior(posterior: Mapping[str, Any], settings: RTNetSettings) -> jax.Array:
    """KL(q || p) summed over every Gaussian weight and bias (a scalar).

    Closed form for two Gaussians (numpyro's `kl_divergence` of `Normal`s):
    log(s_p / s_q) + (s_q^2 + (mu_q - mu_p)^2) / (2 s_p^2) - 1/2.

    Args:
      posterior: one instance's posterior tree (no seed axis; vmap for many).
      settings: the prior.
    """
    prior = dist.Normal(settings.prior_mean, settings.prior_scale)
    total = jnp.zeros((), jnp.float32)
    for _, _, mu, rho in _pairs(posterior):
        q = dist.Normal(mu, jax.nn.softplus(rho))
        total = total + jnp.sum(dist.kl_divergence(q, prior))
    return total
