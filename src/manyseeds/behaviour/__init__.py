"""The behaviour stage: every instance on the noisy stimuli, as a tidy table.

PROTOCOL.md sections 2-3. One module per step:

    noise       the 480 images at the model's input size plus U[0,1) x level,
                one fixed noise pattern per image (every instance sees the
                same noisy image)
    readout     choice, logit margin and off-task (0/9) responses of the
                deterministic networks
    accumulate  RTNet's evidence accumulation over weight samples, both
                thresholds on one sample sequence, batched with per-image
                stopping
    calibrate   the noise level per condition that matches people's group
                accuracy (bisection over the authors' grid, or their sweep)
    evaluate    all of it for a run: `evaluate_run(run, humans, stimuli,
                config) -> (BehaviourTable, calibration)`
    cli         `manyseeds evaluate`
"""

from manyseeds.behaviour.evaluate import (
    Evaluator,
    Instances,
    evaluate_run,
    fresh_instances,
    instances_from_run,
)

__all__ = [
    "Evaluator",
    "Instances",
    "evaluate_run",
    "fresh_instances",
    "instances_from_run",
]
