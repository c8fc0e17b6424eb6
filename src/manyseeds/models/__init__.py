"""The models stage: AlexNet, ResNet18 and RTNet, each for ONE instance.

`get_model(arch, preset)` returns a `ModelSpec` with pure `init(rng)` and
`apply(variables, x, rng, train)` functions; `manyseeds.training` lifts them
over a leading seed axis. Sizes per preset are in `presets.MODEL_PRESETS`.
"""

from manyseeds.models.initializers import INITS, Initializer
from manyseeds.models.presets import (
    MODEL_PRESETS,
    AlexNetPreset,
    ResNetPreset,
    RTNetPreset,
)
from manyseeds.models.registry import ARCHS, LayerShape, ModelSpec, get_model
from manyseeds.models.rtnet import RTNetSettings, rtnet_settings

__all__ = [
    "ARCHS",
    "INITS",
    "MODEL_PRESETS",
    "AlexNetPreset",
    "Initializer",
    "LayerShape",
    "ModelSpec",
    "RTNetPreset",
    "RTNetSettings",
    "ResNetPreset",
    "get_model",
    "rtnet_settings",
]
