"""RTNet's decision process: evidence accumulated over weight samples.

RTNet (Rafiei, Shekhar & Rahnev, 2024; PROTOCOL.md section 2) decides about
an image by looking at it again and again: at every step it draws a fresh
sample of its weights from the posterior, runs the image, and adds the softmax
output to an evidence vector. It stops as soon as the largest entry reaches
the threshold, or after `max_steps` samples. Then

    choice     = argmax of the evidence
    RT         = the number of samples taken
    confidence = the largest evidence entry minus the second largest

The instruction conditions are thresholds (original RTNet code: 3 under speed
focus, 5 under accuracy focus).

Design decisions (all per instance; `manyseeds.training.lift` runs the
instances):

- Both thresholds share one sample sequence. The key of a sample depends on
  the instance, the step number and (per-image sampling) the image's MNIST
  index, never on the threshold. One run to the highest threshold records,
  for each lower threshold, the step where the evidence first reached it; so
  the thresholds cost one run, and a higher threshold can never stop earlier
  than a lower one on the same samples (its evidence is the same running
  sum). The keys do not depend on the noise level either (common random
  numbers across the calibration's levels).
- Two sampling variants (`BehaviourConfig.shared_sample`):

  per-image (original RTNet code): every image at every step has its own
    weight sample, keyed by (instance, image, step). Images are independent,
    so they run in a pool of `slots`: each slot holds one image until it
    stops, then takes the next image waiting. No image waits for another,
    and the work is the sum of the RTs, not the number of images times the
    slowest RT. The slots run either one after another (`lax.map`; an empty
    slot at the end of the queue costs nothing, `lax.cond`) or side by side
    (`vmap`, one weight sample per slot): the latter on an accelerator and
    for small networks on a CPU (`behaviour.evaluate` chooses).
  shared (the authors' later batched code): at step k every image still
    running uses the same weight sample s_k, keyed by (instance, k); so each
    image sees the same sequence s_0, s_1, ... of networks, whatever the
    batching. All images start together and run in lockstep on one batched
    forward pass per step (one weight sample for the whole batch). Whenever
    no more than half of a buffer's images are still running, they are
    compacted into a buffer half the size (stages n, n/2, n/4, ..., >= 8
    images), so a few slow images do not keep the whole set computing.
    Under `vmap` over the images the dropout mask (RTNet keeps dropout on at
    test time) is part of the shared sample too: every image at step k sees
    the same mask.

  Each image's own sequence of samples has the same distribution in both
  variants (independent posterior draws), so expected accuracy and RT are the
  same; they differ in how images' samples are correlated.

  Cost on a CPU (2 cores, quick RTNet, measured): a weight sample is ~110k
  Gaussian draws (~0.8 ms), far more than one image's forward pass (~20-40
  us). The per-image variant pays a sample per image and step, so batching
  hardly helps it (~1-2 ms per image-sample, like a plain loop); the shared
  variant pays one per step for the whole batch (~25-80 us per
  image-sample), and its stages compute within ~10% of the samples actually
  needed. On an accelerator the per-image variant's samples run in parallel.
- Results do not depend on the pool size, the stage sizes, the order of the
  images or which other images are evaluated together (the keys say which
  sample each image gets); `reference_loop` (a plain per-image Python loop,
  as the original notebook ran it) gives the same decisions.
- The cap: an image that has not reached a threshold after `max_steps`
  samples is decided at the cap (choice and confidence of its evidence then,
  RT = `max_steps`) and flagged `capped`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from manyseeds.behaviour.readout import margin, restrict_logits

# Compaction of the shared (lockstep) variant: each stage's buffer is this
# factor smaller than the one before, down to at least `_MIN_STAGE` images.
_STAGE_FACTOR = 2
_MIN_STAGE = 8

ProbsFn = Callable[[jax.Array, jax.Array], jax.Array]


class Decisions(NamedTuple):
    """RTNet's decisions for one instance.

    Attributes:
      choice: `[threshold, image]` int32 argmax of the evidence.
      confidence: `[threshold, image]` float32 top-1 minus top-2 evidence.
      rt: `[threshold, image]` int32 samples taken.
      capped: `[threshold, image]` bool: stopped by `max_steps` below the
        threshold.
    """

    choice: jax.Array
    confidence: jax.Array
    rt: jax.Array
    capped: jax.Array


def sample_probs(spec, variables, restrict: bool = False) -> ProbsFn:
    """`probs(x [S, S, 1], key) -> [class]`: the softmax of ONE weight sample.

    `spec.apply` draws one weight sample per call from `key` (RTNet's
    `sample` and `dropout` streams), in evaluation mode. With `restrict`, the
    softmax is taken over the digits 1-8 only (the others get 0).
    """

    def probs(x, key):
        logits, _ = spec.apply(variables, x[None], key, train=False)
        return jax.nn.softmax(restrict_logits(logits[0], restrict))

    return probs


def image_key(key: jax.Array, image_id: jax.Array, step: jax.Array) -> jax.Array:
    """Key of one image's sample at `step` (per-image sampling)."""
    return jax.random.fold_in(jax.random.fold_in(key, image_id), step)


def step_key(key: jax.Array, step: jax.Array) -> jax.Array:
    """Key of the sample shared by all images at `step` (shared sampling)."""
    return jax.random.fold_in(key, step)


def accumulate(
    probs: ProbsFn,
    images: jax.Array,
    image_ids: jax.Array,
    key: jax.Array,
    thresholds: Sequence[float],
    max_steps: int,
    shared_sample: bool = False,
    slots: int = 32,
    sequential: bool | None = None,
) -> Decisions:
    """Accumulate evidence for every image until each threshold is reached.

    Args:
      probs: `probs(x [S, S, 1], key) -> [class]` probabilities of one weight
        sample (see `sample_probs`; tests inject fakes).
      images: `[image, S, S, 1]` noisy images.
      image_ids: `[image]` one-based MNIST indices (they key the samples).
      key: the instance's evaluation key.
      thresholds: ascending thresholds (a static tuple).
      max_steps: cap on samples per image.
      shared_sample: the shared variant instead of per-image samples.
      slots: per-image variant: images in flight at once.
      sequential: per-image variant: slots one after another (`lax.map`)
        instead of side by side (`vmap`); None: on a CPU.

    Returns:
      `Decisions` with `[threshold, image]` arrays.
    """
    thresholds = tuple(float(t) for t in thresholds)
    if list(thresholds) != sorted(thresholds):
        raise ValueError(f"thresholds {thresholds} must be ascending")
    if sequential is None:
        sequential = jax.default_backend() == "cpu"
    image_ids = jnp.asarray(image_ids, jnp.int32)
    if shared_sample:
        return _lockstep(probs, images, key, thresholds, max_steps)
    return _pool(
        probs, images, image_ids, key, thresholds, max_steps, slots, sequential
    )


def _empty_decisions(num_thresholds: int, n: int) -> Decisions:
    """Output arrays with one extra column `n` that absorbs unused writes."""
    shape = (num_thresholds, n + 1)
    return Decisions(
        choice=jnp.zeros(shape, jnp.int32),
        confidence=jnp.zeros(shape, jnp.float32),
        rt=jnp.zeros(shape, jnp.int32),
        capped=jnp.zeros(shape, bool),
    )


def _advance(evidence, steps, written, active, p, thr, max_steps, slot_image, out, n):
    """Add one sample's probabilities and record the thresholds just reached.

    Args:
      evidence: `[slot, class]`; steps: `[slot]` samples taken so far;
      written: `[slot, threshold]` thresholds already recorded; active:
      `[slot]` slots holding an image; p: `[slot, class]` this step's
      probabilities; slot_image: `[slot]` image position (n: none).

    Returns:
      `(evidence, steps, written, finished [slot], out)`.
    """
    evidence = evidence + jnp.where(active[:, None], p, 0.0)
    steps = steps + active.astype(jnp.int32)
    choice, confidence = margin(evidence)
    reached = jnp.max(evidence, axis=-1)[:, None] >= thr[None, :]
    at_cap = (steps >= max_steps)[:, None]
    new = active[:, None] & ~written & (reached | at_cap)
    dest = jnp.where(new, slot_image[:, None], n)
    rows = jnp.broadcast_to(jnp.arange(thr.shape[0])[None, :], dest.shape)

    def put(array, values):
        values = jnp.broadcast_to(values, dest.shape).astype(array.dtype)
        return array.at[rows, dest].set(values)

    out = Decisions(
        choice=put(out.choice, choice[:, None]),
        confidence=put(out.confidence, confidence[:, None]),
        rt=put(out.rt, steps[:, None]),
        capped=put(out.capped, ~reached),
    )
    written = written | new
    finished = active & jnp.all(written, axis=-1)
    return evidence, steps, written, finished, out


def _pool(probs, images, image_ids, key, thresholds, max_steps, slots, sequential):
    """Per-image sampling: a pool of slots refilled as images stop."""
    n = images.shape[0]
    num_slots = max(1, min(slots, n))
    thr = jnp.asarray(thresholds, jnp.float32)
    num_classes = jax.eval_shape(probs, images[0], key).shape[-1]

    def run_slots(x, keys, active):
        if not sequential:
            return jax.vmap(probs)(x, keys)

        def one(args):
            xi, ki, ai = args
            return jax.lax.cond(
                ai, probs, lambda *_: jnp.zeros((num_classes,), jnp.float32), xi, ki
            )

        return jax.lax.map(one, (x, keys, active))

    def body(state):
        slot_image, steps, evidence, written, next_image, out = state
        active = slot_image < n
        safe = jnp.minimum(slot_image, n - 1)
        keys = jax.vmap(image_key, in_axes=(None, 0, 0))(key, image_ids[safe], steps)
        p = run_slots(images[safe], keys, active)
        evidence, steps, written, finished, out = _advance(
            evidence, steps, written, active, p, thr, max_steps, slot_image, out, n
        )
        incoming = next_image + jnp.cumsum(finished) - 1
        incoming = jnp.where(incoming < n, incoming, n)
        slot_image = jnp.where(finished, incoming, slot_image)
        next_image = next_image + jnp.sum(finished)
        steps = jnp.where(finished, 0, steps)
        evidence = jnp.where(finished[:, None], 0.0, evidence)
        written = jnp.where(finished[:, None], False, written)
        return slot_image, steps, evidence, written, next_image, out

    state = (
        jnp.arange(num_slots, dtype=jnp.int32),
        jnp.zeros(num_slots, jnp.int32),
        jnp.zeros((num_slots, num_classes), jnp.float32),
        jnp.zeros((num_slots, len(thresholds)), bool),
        jnp.asarray(num_slots, jnp.int32),
        _empty_decisions(len(thresholds), n),
    )
    state = jax.lax.while_loop(lambda s: jnp.any(s[0] < n), body, state)
    return jax.tree.map(lambda a: a[:, :n], state[-1])


def stage_sizes(n: int) -> tuple[int, ...]:
    """Buffer sizes of the shared variant's stages: n, n/2, n/4, ..., >= 8."""
    sizes = [n]
    while -(-sizes[-1] // _STAGE_FACTOR) >= _MIN_STAGE:
        sizes.append(-(-sizes[-1] // _STAGE_FACTOR))
    return tuple(sizes)


def _lockstep(probs, images, key, thresholds, max_steps):
    """Shared sampling: all images in lockstep, compacted in stages."""
    n = images.shape[0]
    thr = jnp.asarray(thresholds, jnp.float32)
    num_classes = jax.eval_shape(probs, images[0], key).shape[-1]
    sizes = stage_sizes(n)
    batched = jax.vmap(probs, in_axes=(0, None))

    def body(state):
        slot_image, evidence, written, step, out = state
        active = slot_image < n
        x = images[jnp.minimum(slot_image, n - 1)]
        p = batched(x, step_key(key, step))
        steps = jnp.full(slot_image.shape, step, jnp.int32)
        evidence, _, written, finished, out = _advance(
            evidence, steps, written, active, p, thr, max_steps, slot_image, out, n
        )
        slot_image = jnp.where(finished, n, slot_image)
        return slot_image, evidence, written, step + 1, out

    state = (
        jnp.arange(n, dtype=jnp.int32),
        jnp.zeros((n, num_classes), jnp.float32),
        jnp.zeros((n, len(thresholds)), bool),
        jnp.asarray(0, jnp.int32),
        _empty_decisions(len(thresholds), n),
    )
    for stage, size in enumerate(sizes):
        if stage:
            state = _compact(state, size, n)
        smaller = sizes[stage + 1] if stage + 1 < len(sizes) else 0

        def keep_going(s, smaller=smaller):
            running = jnp.sum(s[0] < n)
            return (running > smaller) & (running > 0)

        state = jax.lax.while_loop(keep_going, body, state)
    return jax.tree.map(lambda a: a[:, :n], state[-1])


def _compact(state, size, n):
    """Move the images still running into a buffer of `size` slots."""
    slot_image, evidence, written, step, out = state
    keep = jnp.nonzero(slot_image < n, size=size, fill_value=slot_image.shape[0])[0]

    def take(a, fill):
        return jnp.take(a, keep, axis=0, mode="fill", fill_value=fill)

    return take(slot_image, n), take(evidence, 0.0), take(written, True), step, out


def reference_loop(
    step_probs: Callable[..., jax.Array],
    images: np.ndarray,
    image_ids: np.ndarray,
    key: jax.Array,
    threshold: float,
    max_steps: int,
    shared_sample: bool = False,
) -> dict[str, np.ndarray]:
    """A plain per-image Python loop, as the original RTNet notebook ran it.

    For each image: draw a sample, run the image, add the softmax, check the
    threshold, repeat. One threshold per call (the notebook ran each
    threshold separately). Used by the tests (the batched `accumulate` must
    give the same decisions) and by `manyseeds bench rtnet`.

    Args:
      step_probs: jitted `step_probs(x [S, S, 1], key, image_id, step) ->
        [class]`, which derives the same sample key as `accumulate` inside.
      images: `[image, S, S, 1]` noisy images.
      image_ids: `[image]` one-based MNIST indices.
      key: the instance's evaluation key.
      threshold: the evidence threshold.
      max_steps: cap on samples.
      shared_sample: which key derivation (see the module docstring).

    Returns:
      `choice`, `confidence`, `rt` (`[image]` numpy) and `capped`.
    """
    n = len(image_ids)
    out = {
        "choice": np.zeros(n, np.int32), "confidence": np.zeros(n, np.float32),
        "rt": np.zeros(n, np.int32), "capped": np.zeros(n, bool),
    }
    for i in range(n):
        evidence = None
        steps = 0
        while True:
            p = np.asarray(step_probs(images[i], key, int(image_ids[i]), steps))
            evidence = p if evidence is None else evidence + p
            steps += 1
            if evidence.max() >= threshold or steps >= max_steps:
                break
        top = np.sort(evidence)[::-1]
        out["choice"][i] = int(np.argmax(evidence))
        out["confidence"][i] = top[0] - top[1]
        out["rt"][i] = steps
        out["capped"][i] = evidence.max() < threshold
    return out


def step_probs_fn(make_probs: Callable[[object], ProbsFn], shared_sample: bool):
    """The jitted single-image step of `reference_loop`.

    Args:
      make_probs: `make_probs(variables) -> ProbsFn` (e.g. `functools.partial(
        sample_probs, spec)`); variables are an argument of the jitted step,
        so one compilation serves every instance.
      shared_sample: which key derivation.

    Returns:
      `step(variables, x, key, image_id, step) -> [class]`, jitted; bind
      `variables` with `functools.partial` to pass it to `reference_loop`.
    """

    def step(variables, x, key, image_id, step_number):
        if shared_sample:
            k = step_key(key, step_number)
        else:
            k = image_key(key, image_id, step_number)
        return make_probs(variables)(x, k)

    return jax.jit(step)
