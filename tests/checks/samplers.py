"""Sampler checks: serialisation round trips, and draw frequencies against the distribution a sampler promises."""

import keras
import numpy as np
from keras import ops

from artifex_keras import samplers

DRAWS = 20000


def check_sampler_serialization(sampler):
    """`get`, `serialize`/`deserialize` and Keras serialisation all rebuild an equal sampler."""
    assert samplers.get(samplers.serialize(sampler)) == sampler
    assert keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(sampler)) == sampler
    assert samplers.get({"class_name": type(sampler).__name__, "config": sampler.get_config()}) == sampler
    if sampler.sampler_name is not None:
        assert samplers.get({"class_name": sampler.sampler_name, "config": sampler.get_config()}) == sampler
    assert type(sampler).from_config(sampler.get_config()) == sampler


def draw_tokens(sampler, logits, seed=0, draws=DRAWS):
    """Ids a token sampler draws from `draws` copies of one row of logits."""
    batch = ops.convert_to_tensor(np.tile(np.asarray(logits, dtype="float32"), (draws, 1)))
    ids = ops.convert_to_numpy(sampler.next_token(batch, keras.random.SeedGenerator(seed)))
    assert ids.dtype == np.int32 and ids.shape == (draws,)
    return ids


def check_token_frequencies(sampler, logits, expected, seed=0, draws=DRAWS):
    """Draw frequencies within 5 binomial standard errors of `expected`; categories of probability 0 never drawn."""
    ids = draw_tokens(sampler, logits, seed=seed, draws=draws)
    expected = np.asarray(expected, dtype=np.float64)
    counts = np.bincount(ids, minlength=len(expected))
    assert len(counts) == len(expected), counts
    frequencies = counts / len(ids)
    bound = 5 * np.sqrt(expected * (1 - expected) / len(ids))
    assert np.all(np.abs(frequencies - expected) <= bound), (frequencies, expected, bound)
    assert np.all(counts[expected == 0] == 0), counts
