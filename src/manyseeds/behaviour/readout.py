"""From a network's output to a trial: choice, correctness, confidence.

Deterministic architectures (AlexNet, ResNet18; PROTOCOL.md sections 2-3):
one forward pass per (instance, image), in evaluation mode (no dropout,
running batch-norm statistics);

    choice     = argmax of the logits
    confidence = top-1 logit minus top-2 logit (the logit margin; the paper's
                 "Confidence for all model architectures", after Shekhar &
                 Rahnev)

RTNet's accumulated evidence is read out the same way (`margin` of the
evidence vector; see `accumulate`).

The human task had eight choices, digits 1-8 (PROTOCOL.md section 1). Two
readouts:

- full (default): all ten classes compete; a choice of 0 or 9 is outside the
  task. The authors set such responses to NaN. `off_task="missing"` (default)
  makes the whole trial missing (response, correct, confidence and RT NaN);
  `off_task="error"` keeps the trial as the authors' analysis files did:
  response NaN, but correct 0 and confidence and RT kept (their loaders set
  only `resp` to NaN, and the analysis reads `acc`, `conf`, `rt`).
- restricted (`restrict_to_task_digits`): only the logits of digits 1-8
  compete (for RTNet, the softmax is taken over those 8), so every response is
  on the task.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

# PROTOCOL.md section 1: the task's choices are the digits 1-8.
TASK_DIGITS = tuple(range(1, 9))
OFF_TASK = ("missing", "error")


def task_mask(num_classes: int = 10) -> jax.Array:
    """`[class]` True for the task's digits 1-8."""
    return jnp.isin(jnp.arange(num_classes), jnp.asarray(TASK_DIGITS))


def restrict_logits(logits: jax.Array, restrict: bool) -> jax.Array:
    """Logits with the non-task classes set to -inf when `restrict` is True."""
    if not restrict:
        return logits
    return jnp.where(task_mask(logits.shape[-1]), logits, -jnp.inf)


def margin(values: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Choice and the margin between the two largest entries.

    Args:
      values: `[..., class]` logits or accumulated evidence (-inf for classes
        excluded from the readout).

    Returns:
      `(choice [...] int32, top-1 minus top-2 [...] float32)`.
    """
    top, _ = jax.lax.top_k(values, 2)
    choice = jnp.argmax(values, axis=-1).astype(jnp.int32)
    return choice, (top[..., 0] - top[..., 1]).astype(jnp.float32)


def trial_columns(
    choice: np.ndarray,
    labels: np.ndarray,
    confidence: np.ndarray,
    rt: np.ndarray | None = None,
    off_task: str = "missing",
) -> dict[str, np.ndarray]:
    """Response, correct, confidence and RT columns, with off-task choices handled.

    Args:
      choice: `[...]` chosen class (int).
      labels: true digits, broadcastable to `choice`.
      confidence: `[...]` margins.
      rt: `[...]` samples taken (RTNet), or None (NaN).
      off_task: "missing" or "error" (see the module docstring).

    Returns:
      `response`, `correct`, `confidence`, `rt` float64 arrays of `choice`'s
      shape, NaN where missing.
    """
    if off_task not in OFF_TASK:
        raise ValueError(f"off_task {off_task!r}; expected one of {OFF_TASK}")
    choice = np.asarray(choice)
    on_task = np.isin(choice, TASK_DIGITS)
    response = np.where(on_task, choice, np.nan)
    correct = (choice == np.asarray(labels)).astype(np.float64)
    confidence = np.asarray(confidence, dtype=np.float64)
    rt = np.full(choice.shape, np.nan) if rt is None else np.asarray(rt, np.float64)
    if off_task == "missing":
        correct = np.where(on_task, correct, np.nan)
        confidence = np.where(on_task, confidence, np.nan)
        rt = np.where(on_task, rt, np.nan)
    return {
        "response": response, "correct": correct, "confidence": confidence, "rt": rt,
    }


def readout_fn(spec, restrict: bool, image_batch: int):
    """`fn(variables, images) -> (choice [image], confidence [image])` for ONE
    instance of a deterministic network, in evaluation mode.

    Images go through the network `image_batch` at a time (`lax.map`), which
    bounds activation memory for the paper-size networks.
    """
    dummy_key = jax.random.PRNGKey(0)  # evaluation mode draws nothing

    def one_image(variables, x):
        logits, _ = spec.apply(variables, x[None], dummy_key, train=False)
        return margin(restrict_logits(logits[0], restrict))

    def fn(variables, images):
        batch = max(1, min(image_batch, images.shape[0]))
        return jax.lax.map(lambda x: one_image(variables, x), images, batch_size=batch)

    return fn
