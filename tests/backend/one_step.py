"""Three SGD steps of three models from fixed weights; save everything a step changes.

Models: the two-phase critic/generator model (gradient penalty), a VAE (random
draws, KL warm-up) and a VQ-VAE with an EMA codebook (non-trainable state).
Backends draw different random numbers from the same seed, so here the VAE's
Gaussian noise is a smooth function of the seed each draw takes: it still
advances the seed generator, so a seed state that is not threaded through
the step changes the result.

Usage: KERAS_BACKEND=<name> python -m tests.backend.one_step OUT.npz
"""

import math
import sys

import keras
import numpy as np
from keras import ops
from keras.src.random.seed_generator import draw_seed

from artifex_keras.models import VAE
from artifex_keras.models import VQVAE
from tests.backend.two_phase_model import TwoPhaseModel

STEPS = 3


def portable_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Deterministic stand-in for `keras.random.normal`, computed alike on every backend."""
    drawn = ops.cast(draw_seed(seed), "float32")
    index = ops.reshape(ops.arange(math.prod(shape), dtype="float32"), shape)
    return mean + stddev * ops.sin(index * 0.7 + drawn[0] * 0.3 + drawn[1] * 1.3)


def _numpy(value):
    return np.array(keras.ops.convert_to_numpy(value))


def _models(rng):
    two_phase = TwoPhaseModel()
    vae = VAE(input_shape=(4, 4, 1), latent_dim=2, hidden_dims=(8,), seed=3, kl_warmup_steps=2)
    vqvae = VQVAE(
        input_shape=(8, 8, 1), hidden_dims=(4, 8), num_embeddings=4, embedding_dim=2,
        prior_filters=4, prior_layers=2, ema=True, ema_decay=0.5, seed=0,
    )  # fmt: skip
    for model in (two_phase, vae, vqvae):
        for variable in model.trainable_variables:
            variable.assign(rng.normal(scale=0.5, size=variable.shape).astype("float32"))
    codebook = rng.normal(size=vqvae.quantizer.embeddings.shape).astype("float32")
    vqvae.quantizer.embeddings.assign(codebook)
    vqvae.quantizer.ema_embedding_sum.assign(codebook)
    data = {
        "two_phase": rng.normal(size=(16, 4)).astype("float32"),
        "vae": rng.uniform(size=(16, 4, 4, 1)).astype("float32"),
        "vqvae_ema": rng.uniform(size=(16, 8, 8, 1)).astype("float32"),
    }
    return {"two_phase": two_phase, "vae": vae, "vqvae_ema": vqvae}, data


def run():
    keras.random.normal = portable_normal
    models, data = _models(np.random.RandomState(0))
    results = {}
    for name, model in models.items():
        model.compile(optimizer={phase.name: keras.optimizers.SGD(0.05) for phase in model.training_phases()})
        for _ in range(STEPS):
            logs = model.train_on_batch(data[name], return_dict=True)
        seeds = {id(v) for v in model.seed_states()}
        groups = {
            "weights": model.trainable_variables,
            "non_trainable": [v for v in model.non_trainable_variables if id(v) not in seeds],
            "seed": model.seed_states(),
            "optimizer": model.optimizer.variables,
        }
        for group, variables in groups.items():
            for index, variable in enumerate(variables):
                results[f"{name}/{group}/{index}"] = _numpy(variable)
        for key, value in logs.items():
            results[f"{name}/log/{key}"] = np.asarray(value)
    return results


if __name__ == "__main__":
    np.savez(sys.argv[1], **run())
