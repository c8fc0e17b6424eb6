"""Pure training and evaluation steps for ONE instance.

The functions here know nothing of the seed axis: `training.lift` maps them
over it. A step takes the whole training set (uint8, on the device) and the
indices of this instance's minibatch, so that every instance gathers its own
images in its own order without the host building `[seed, batch, ...]`
arrays.

Loss (PROTOCOL.md section 2): mean cross-entropy; for RTNet the negative ELBO,
mean cross-entropy of one weight sample plus `kl_weight * KL(q || prior)`.
A step whose loss is not finite leaves the instance unchanged and marks it
frozen; a frozen instance is never updated again.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from manyseeds.config import TrainConfig


class TrainState(NamedTuple):
    """Everything that changes while one instance trains.

    Stacked on a leading seed axis by `training.lift`, every leaf is
    `[seed, ...]`.
    """

    params: Any
    batch_stats: Any  # {} for architectures without batch norm
    opt_state: Any
    noise_key: jax.Array  # uint32[2]: dropout / weight-sample stream
    step: jax.Array  # int32: optimiser steps taken
    frozen: jax.Array  # bool: loss became non-finite; never updated again
    best_val_loss: jax.Array  # float32: for learning-rate halving on plateau
    bad_epochs: jax.Array  # int32: epochs since the best validation loss


def make_optimizer(config: TrainConfig) -> optax.GradientTransformation:
    """Adam with optional L2 inside it (the authors' `weight_decay` in torch Adam).

    The learning rate is an injected hyperparameter so that it can be halved
    per instance on a validation plateau.
    """

    def adam_l2(learning_rate, weight_decay):
        return optax.chain(
            optax.add_decayed_weights(weight_decay), optax.adam(learning_rate)
        )

    return optax.inject_hyperparams(adam_l2)(
        learning_rate=config.learning_rate, weight_decay=config.weight_decay
    )


def init_state(spec, tx, init_key: jax.Array, noise_key: jax.Array) -> TrainState:
    """The state of one instance before its first step."""
    variables = spec.init(init_key)
    params = variables["params"]
    return TrainState(
        params=params,
        batch_stats=variables.get("batch_stats", {}),
        opt_state=tx.init(params),
        noise_key=noise_key,
        step=jnp.zeros((), jnp.int32),
        frozen=jnp.zeros((), bool),
        best_val_loss=jnp.full((), jnp.inf, jnp.float32),
        bad_epochs=jnp.zeros((), jnp.int32),
    )


def as_inputs(spec, images_u8: jax.Array) -> jax.Array:
    """`[batch, 28, 28]` uint8 -> `[batch, S, S, 1]` float32 model input."""
    images = images_u8.astype(jnp.float32)[..., None] / 255.0
    return spec.prepare(images)


def _variables(params, batch_stats) -> dict:
    return {"params": params, "batch_stats": batch_stats} if batch_stats else {
        "params": params
    }


def train_step(
    spec,
    tx: optax.GradientTransformation,
    kl_weight: float,
    state: TrainState,
    batch_index: jax.Array,
    train_images: jax.Array,
    train_labels: jax.Array,
) -> tuple[TrainState, dict[str, jax.Array]]:
    """One optimiser step of one instance.

    Args:
      spec: the model (`manyseeds.models.ModelSpec`).
      tx: the optimiser.
      kl_weight: multiplier of the KL term (0 for deterministic networks).
      state: this instance's state.
      batch_index: `[batch]` indices into the training set.
      train_images: `[num_train, 28, 28]` uint8, shared by all instances.
      train_labels: `[num_train]` int32.

    Returns:
      The new state and `{"loss", "accuracy"}` of this minibatch.
    """
    x = as_inputs(spec, train_images[batch_index])
    labels = train_labels[batch_index]
    rng = jax.random.fold_in(state.noise_key, state.step)

    def loss_fn(params):
        logits, new_model_state = spec.apply(
            _variables(params, state.batch_stats), x, rng, train=True
        )
        ce = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
        loss = ce + kl_weight * spec.kl(params) if kl_weight else ce
        accuracy = jnp.mean(jnp.argmax(logits, -1) == labels)
        return loss, (new_model_state.get("batch_stats", {}), accuracy)

    (loss, (batch_stats, accuracy)), grads = jax.value_and_grad(
        loss_fn, has_aux=True
    )(state.params)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)

    ok = jnp.isfinite(loss) & ~state.frozen
    keep = lambda new, old: jnp.where(ok, new, old)  # noqa: E731
    new_state = state._replace(
        params=jax.tree.map(keep, params, state.params),
        batch_stats=jax.tree.map(keep, batch_stats, state.batch_stats),
        opt_state=jax.tree.map(keep, opt_state, state.opt_state),
        step=state.step + 1,
        frozen=state.frozen | ~jnp.isfinite(loss),
    )
    return new_state, {"loss": loss, "accuracy": accuracy}


def eval_step(
    spec,
    kl_weight: float,
    state: TrainState,
    images_u8: jax.Array,
    labels: jax.Array,
    eval_key: jax.Array,
) -> dict[str, jax.Array]:
    """Summed loss and correct count of one instance on one batch.

    Evaluation mode: batch norm uses its running statistics; RTNet draws one
    weight sample from `eval_key` (shared by all instances so that validation
    noise is the same for every seed).
    """
    x = as_inputs(spec, images_u8)
    logits, _ = spec.apply(
        _variables(state.params, state.batch_stats), x, eval_key, train=False
    )
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    return {
        "loss_sum": jnp.sum(ce),
        "correct": jnp.sum(jnp.argmax(logits, -1) == labels),
    }


def plateau_update(
    state: TrainState, val_loss: jax.Array, patience: int, enabled: bool
) -> TrainState:
    """Halve the learning rate after `patience` epochs without a better val loss.

    The authors' scripts used torch's ReduceLROnPlateau(factor=0.5) with
    patience 3 (AlexNet) or 2 (ResNet18); the paper text does not mention it.
    """
    improved = val_loss < state.best_val_loss
    bad = jnp.where(improved, 0, state.bad_epochs + 1)
    best = jnp.where(improved, val_loss, state.best_val_loss)
    opt_state = state.opt_state
    if enabled:
        halve = bad > patience
        hyper = dict(opt_state.hyperparams)
        hyper["learning_rate"] = jnp.where(
            halve, hyper["learning_rate"] * 0.5, hyper["learning_rate"]
        )
        opt_state = opt_state._replace(hyperparams=hyper)
        bad = jnp.where(halve, 0, bad)
    return state._replace(opt_state=opt_state, best_val_loss=best, bad_epochs=bad)
