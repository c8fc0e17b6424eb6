"""`get_model`: one architecture under one preset, as pure init/apply functions.

A `ModelSpec` is what the rest of the pipeline knows of a network: how to
initialise ONE instance from a key, how to bring 28x28 MNIST images to its
input size, how to run it, its KL term (RTNet) and its size. Nothing here has a
seed axis; `manyseeds.training` lifts `init` and `apply` over `[seed, ...]`
with `jax.vmap`.

    spec = get_model("rtnet", "quick")
    variables = spec.init(jax.random.key(0))
    logits, new_state = spec.apply(variables, spec.prepare(images), rng, train=True)
    loss = cross_entropy(logits) + spec.kl_weight(num_train, batch) * spec.kl(params)
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn

from manyseeds.errors import UserError
from manyseeds.models.alexnet import AlexNet
from manyseeds.models.initializers import Initializer, draw_variables
from manyseeds.models.presets import (
    MODEL_PRESETS,
    AlexNetPreset,
    ResNetPreset,
    RTNetPreset,
)
from manyseeds.models.resnet import ResNet18
from manyseeds.models.rtnet import (
    RTNetBody,
    RTNetSettings,
    kl_to_prior,
    posterior_law,
    posterior_template,
    rtnet_settings,
    sample_weights,
)

ARCHS = tuple(MODEL_PRESETS)
_BYTES = 4  # float32
# Per parameter while training with Adam: the parameter, its gradient and
# Adam's two moments.
_TRAIN_COPIES = 4
# Activations kept for the backward pass, per layer output element: the
# layer's output and what follows it (ReLU, pool or batch-norm output) plus a
# gradient buffer of the same size; a rough, deliberately generous factor.
_ACTIVATION_COPIES = 3


@dataclasses.dataclass(frozen=True)
class LayerShape:
    """One weight layer seen in a forward pass of one image.

    Attributes:
      name: the module path, e.g. "conv1" or "stage2_block1/conv1".
      kind: "conv", "dense" or "norm".
      macs: multiply-adds for one image (0 for batch norm).
      outputs: output elements for one image.
    """

    name: str
    kind: str
    macs: int
    outputs: int


@dataclasses.dataclass(frozen=True, eq=False)
class ModelSpec:
    """One architecture under one preset, for one instance (no seed axis).

    Attributes:
      arch: "alexnet", "resnet18" or "rtnet".
      preset: preset name ("smoke", "quick", "paper", or "custom").
      module: the Flax module (for RTNet, the AlexNet body that runs on each
        weight sample).
      sizes: the preset dataclass (`AlexNetPreset`, `ResNetPreset`,
        `RTNetPreset`).
      init_name: the initialiser ("default", "torch", "torchvision").
      settings: RTNet's Bayesian settings (None for deterministic networks).
    """

    arch: str
    preset: str
    module: nn.Module
    sizes: Any
    init_name: str = "default"
    settings: RTNetSettings | None = None

    @property
    def input_size(self) -> int:
        """Side S of the `[S, S, 1]` model input."""
        return self.sizes.input_size

    @property
    def num_classes(self) -> int:
        return self.sizes.num_classes

    @property
    def bayesian(self) -> bool:
        return self.settings is not None

    @property
    def has_batch_stats(self) -> bool:
        return isinstance(self.sizes, ResNetPreset)

    @property
    def rng_streams(self) -> tuple[str, ...]:
        """The rng collections `apply` draws from when `train=True`."""
        if self.bayesian:
            return ("dropout", "sample")
        return ("dropout",) if isinstance(self.sizes, AlexNetPreset) else ()

    def init(self, rng: jax.Array) -> dict[str, Any]:
        """Variables of ONE instance: `{"params": ..., ["batch_stats": ...]}`.

        Every random leaf comes from one uniform draw on `rng`
        (`initializers.draw_variables`), in the law of the chosen initialiser
        (RTNet: of its posterior). Pure in `rng`, so `jax.vmap(spec.init)(keys)`
        gives `[seed, ...]` variables, each identical to `spec.init(keys[i])`.
        """
        return self._jitted_init(rng)

    @functools.cached_property
    def _jitted_init(self):
        # Jitted once per spec so that eager calls compile one program rather
        # than dispatching every slice op by op; inside jit/vmap it is inlined.
        template = self._shapes[0]
        if self.bayesian:
            law = posterior_law(self.settings, self.initializer)
        else:
            law = self.initializer.leaf_law
        return jax.jit(lambda rng: draw_variables(template, rng, law))

    @property
    def initializer(self) -> Initializer:
        return Initializer(self.init_name)

    def prepare(self, images: jax.Array) -> jax.Array:
        """`[..., 28, 28, 1]` pixels in [0, 1] -> `[..., S, S, 1]`, bilinear.

        No normalisation (RTNet normalises inside the model), so that noise can
        be added to the resized image (PROTOCOL.md section 3). Upsampling uses
        half-pixel centres, as torchvision's `Resize`; the authors resized
        8-bit PIL images, so their inputs were also rounded to 1/255 steps.
        """
        images = jnp.asarray(images, jnp.float32)
        *lead, height, width, channels = images.shape
        size = self.input_size
        if (height, width) == (size, size):
            return images
        return jax.image.resize(images, (*lead, size, size, channels), "bilinear")

    def _rngs(self, rng: jax.Array | None) -> dict[str, jax.Array]:
        streams = self.rng_streams
        if not streams:
            return {}
        if rng is None:
            raise ValueError(f"{self.arch} needs an rng for {streams}")
        if len(streams) == 1:
            return {streams[0]: rng}
        return dict(zip(streams, jax.random.split(rng, len(streams)), strict=True))

    def apply(
        self, variables: dict[str, Any], x: jax.Array, rng: jax.Array | None,
        train: bool,
    ) -> tuple[jax.Array, dict[str, Any]]:
        """Logits of one instance and its updated model state.

        Args:
          variables: one instance's `{"params", ["batch_stats"]}`.
          x: `[batch, S, S, 1]` prepared images.
          rng: one key, split inside into `rng_streams` (dropout masks;
            RTNet's single weight sample, drawn in training AND evaluation).
            May be None for ResNet18, which uses no randomness.
          train: training mode (dropout on, batch statistics used and updated)
            or evaluation mode (running statistics, not updated; RTNet's
            dropout per `settings.test_dropout`). A Python bool.

        Returns:
          `(logits [batch, num_classes], new_state)`; `new_state` is
          `{"batch_stats": ...}` for ResNet18 in training mode, else `{}`.
        """
        keys = self._rngs(rng)
        if self.bayesian:
            weights = sample_weights(variables["params"], keys["sample"])
            logits = self.module.apply(
                {"params": weights}, x, train=train, dropout_key=keys["dropout"]
            )
            return logits, {}
        if self.has_batch_stats:
            if not train:
                return self.module.apply(variables, x, train=False), {}
            logits, updates = self.module.apply(
                variables, x, train=True, mutable=["batch_stats"]
            )
            return logits, {"batch_stats": updates["batch_stats"]}
        logits = self.module.apply(
            variables, x, train=train, dropout_key=keys.get("dropout")
        )
        return logits, {}

    def kl(self, params: Any) -> jax.Array:
        """KL(q || prior) summed over all Gaussian weights (0 if deterministic)."""
        if not self.bayesian:
            return jnp.zeros((), jnp.float32)
        return kl_to_prior(params, self.settings)

    def kl_weight(self, num_train: int, batch_size: int) -> float:
        """Multiplier of `kl` in `mean cross-entropy + kl_weight * kl`.

        RTNet "original" (the original code's summed log-likelihood plus one
        KL per minibatch): 1 / batch_size; "standard": 1 / num_train;
        deterministic networks: 0.
        """
        if not self.bayesian:
            return 0.0
        return self.settings.kl_weight(num_train, batch_size)

    def param_count(self, variables: Any) -> int:
        """Trainable parameters (batch statistics are not parameters).

        Accepts arrays or `jax.ShapeDtypeStruct`s (from `jax.eval_shape`).
        """
        params = variables.get("params", variables)
        return sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(params))

    @functools.cached_property
    def _shapes(self) -> tuple[dict[str, Any], tuple[LayerShape, ...]]:
        """Variable shapes and the weight layers of one image, by tracing only."""
        layers: list[LayerShape] = []

        def record(next_fun, args, kwargs, context):
            out = next_fun(*args, **kwargs)
            if context.method_name == "__call__":
                layer = _layer_shape(context.module, args[0], out)
                if layer is not None:
                    layers.append(layer)
            return out

        def init():
            x = jnp.zeros((1, self.input_size, self.input_size, 1), jnp.float32)
            kwargs = {} if self.has_batch_stats else {"dropout_key": jax.random.key(0)}
            return self.module.init(jax.random.key(0), x, train=False, **kwargs)

        with nn.intercept_methods(record):
            variables = dict(jax.eval_shape(init))
        if self.bayesian:
            variables = {"params": posterior_template(variables["params"])}
        return variables, tuple(layers)

    def layers(self) -> tuple[LayerShape, ...]:
        """The convolution, dense and batch-norm layers in forward order."""
        return self._shapes[1]

    def flops_per_image(self) -> int:
        """Forward FLOPs for one image: 2 x the multiply-adds of every
        convolution and dense layer (ReLU, pooling and batch norm, under 1% of
        the total, are not counted; nor is RTNet's weight sample, about 3
        FLOPs per weight per forward pass, shared by the whole batch)."""
        return 2 * sum(layer.macs for layer in self.layers())

    def train_memory_bytes(self, batch_size: int) -> int:
        """Rough memory of training ONE instance at `batch_size` (float32).

        Parameters, gradients and Adam's two moments (4 copies); for RTNet also
        the weight sample, its noise and its gradient (3 half-size copies);
        activations kept for the backward pass (`_ACTIVATION_COPIES` per layer
        output, times the batch) and the input batch. An estimate for planning
        how many seeds fit on a device, not a measurement.
        """
        params = self.param_count(self._shapes[0])
        resident = _TRAIN_COPIES * params
        if self.bayesian:
            resident += 3 * params // 2
        per_image = self.input_size**2 + _ACTIVATION_COPIES * sum(
            layer.outputs for layer in self.layers()
        )
        return _BYTES * (resident + batch_size * per_image)

    def describe(self) -> dict[str, Any]:
        """Name, sizes and settings, for run manifests (JSON-ready)."""
        return {
            "arch": self.arch,
            "preset": self.preset,
            "init": self.init_name,
            "input_shape": [self.input_size, self.input_size, 1],
            "num_classes": self.num_classes,
            "param_count": self.param_count(self._shapes[0]),
            "flops_per_image": self.flops_per_image(),
            "bayesian": self.bayesian,
            "has_batch_stats": self.has_batch_stats,
            "rng_streams": list(self.rng_streams),
            "sizes": dataclasses.asdict(self.sizes),
            "rtnet": dataclasses.asdict(self.settings) if self.settings else None,
        }


def _layer_shape(module: nn.Module, x: Any, out: Any) -> LayerShape | None:
    """The `LayerShape` of one call of a weight layer (batch of one image)."""
    name = "/".join(str(part) for part in module.path)
    outputs = math.prod(out.shape[1:])
    in_features = x.shape[-1]
    if isinstance(module, nn.Conv):
        window = math.prod(module.kernel_size)
        return LayerShape(name, "conv", outputs * window * in_features, outputs)
    if isinstance(module, nn.Dense):
        return LayerShape(name, "dense", outputs * in_features, outputs)
    if isinstance(module, nn.BatchNorm):
        return LayerShape(name, "norm", 0, outputs)
    return None


def get_model(
    arch: str, preset: str | Any = "quick", init: str = "default", **options: Any
) -> ModelSpec:
    """One architecture under one preset.

    Args:
      arch: "alexnet", "resnet18" or "rtnet".
      preset: "smoke", "quick", "paper", or a preset dataclass of the
        architecture (`AlexNetPreset`, `ResNetPreset`, `RTNetPreset`) for
        custom sizes (named "custom").
      init: "default" (Flax), "torch" (uniform +-1/sqrt(fan_in), PyTorch's
        default) or "torchvision" (as "torch" but He-normal fan-out
        convolutions, torchvision's ResNet). For RTNet it sets the posterior
        means only when `mean_init="framework"` (the standard variant); the
        original variant draws them N(0, 1).
      **options: RTNet only: `rtnet_variant` ("original" or "standard";
        default: the preset's) and any `RTNetSettings` field (`prior_mean`,
        `prior_scale`, `mean_init`, `rho_init_mean`, `rho_init_std`,
        `kl_scaling`, `test_dropout`).

    Returns:
      The `ModelSpec` (cached: the same arguments give the same spec, so its
      traced shapes and compiled initialiser are shared).
    """
    return _build(arch, preset, init, tuple(sorted(options.items())))


@functools.lru_cache(maxsize=64)
def _build(arch: str, preset: str | Any, init: str, option_items: tuple) -> ModelSpec:
    options = dict(option_items)
    if arch not in MODEL_PRESETS:
        raise UserError(f"unknown architecture {arch!r}; expected one of {ARCHS}")
    if isinstance(preset, str):
        if preset not in MODEL_PRESETS[arch]:
            raise UserError(
                f"unknown preset {preset!r} for {arch}; expected one of "
                f"{tuple(MODEL_PRESETS[arch])}"
            )
        name, sizes = preset, MODEL_PRESETS[arch][preset]
    else:
        name, sizes = "custom", preset
    expected = {
        "alexnet": AlexNetPreset, "resnet18": ResNetPreset, "rtnet": RTNetPreset
    }[arch]
    if not isinstance(sizes, expected):
        raise UserError(f"{arch} needs a {expected.__name__}, got {type(sizes)}")
    initializer = Initializer(init)

    if arch == "rtnet":
        variant = options.pop("rtnet_variant", sizes.variant)
        settings = rtnet_settings(variant, **options)
        module = RTNetBody(
            sizes.body, initializer, input_mean=sizes.input_mean,
            input_std=sizes.input_std, test_dropout=settings.test_dropout,
        )
        return ModelSpec(arch, name, module, sizes, init, settings)
    if options:
        raise UserError(f"{arch} takes no options; got {sorted(options)}")
    if arch == "alexnet":
        return ModelSpec(arch, name, AlexNet(sizes, initializer), sizes, init)
    return ModelSpec(arch, name, ResNet18(sizes, initializer), sizes, init)
