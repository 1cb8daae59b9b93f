"""Every model trains on any data source Keras accepts, with clear errors for bad batches inside a step."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import torch

from artifex_keras.models import VAE
from artifex_keras.models import ConditionalVAE
from artifex_keras.models import ImageClassifier
from tests.checks import digits

TINY = {"input_shape": (8, 8, 1), "latent_dim": 2, "hidden_dims": (16,), "seed": 0}
BATCH = 32


class Batches(keras.utils.PyDataset):
    """Fixed-size batches of one or more arrays."""

    def __init__(self, *arrays):
        super().__init__()
        self.arrays = arrays

    def __len__(self):
        return len(self.arrays[0]) // BATCH

    def __getitem__(self, index):
        batch = tuple(a[index * BATCH : (index + 1) * BATCH] for a in self.arrays)
        return batch if len(batch) > 1 else batch[0]


def _sources(*arrays):
    tensors = tuple(torch.from_numpy(np.asarray(a)) for a in arrays)
    single = arrays if len(arrays) > 1 else arrays[0]
    return {
        "tf.data": tf.data.Dataset.from_tensor_slices(single).batch(BATCH),
        "PyDataset": Batches(*arrays),
        "DataLoader": torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*tensors), batch_size=BATCH),
        "generator": (tuple(a[i : i + BATCH] for a in arrays) for i in range(0, len(arrays[0]), BATCH)),
    }


@pytest.mark.parametrize("source", ["tf.data", "PyDataset", "DataLoader", "generator"])
def test_vae_trains_on_every_data_source(source):
    x = digits(128)
    model = VAE(**TINY)
    history = model.fit(_sources(x)[source], epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
    assert np.isfinite(model.evaluate(_sources(x)[source], verbose=0, return_dict=True)["loss"])


@pytest.mark.parametrize("source", ["tf.data", "DataLoader"])
def test_conditional_models_take_labelled_batches_from_datasets(source):
    x, y = digits(128, with_labels=True)
    model = ConditionalVAE(num_classes=10, **TINY)
    history = model.fit(_sources(x, y)[source], epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][-1])


def test_bad_batches_from_datasets_get_clear_errors():
    images = np.random.default_rng(0).random((64, 28, 28, 1)).astype("float32")
    with pytest.raises(ValueError, match=r"VAE.fit: batches of `x` must have shape \(batch, 8, 8, 1\), got shape"):
        VAE(**TINY).fit(tf.data.Dataset.from_tensor_slices(images).batch(BATCH), epochs=1, verbose=0)
    pixels = (digits(64) * 255).astype("uint8")
    with pytest.raises(ValueError, match="VAE.fit: batches of `x` must be floating point .*got dtype uint8"):
        VAE(**TINY).fit(tf.data.Dataset.from_tensor_slices(pixels).batch(BATCH), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="VAE.evaluate: batches of `x` must be floating point"):
        VAE(**TINY).evaluate(torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(pixels))))
    expected = r"VAE.fit: a torch DataLoader .* wrap the tensors in torch\.utils\.data\.TensorDataset"
    with pytest.raises(ValueError, match=expected):
        VAE(**TINY).fit(torch.utils.data.DataLoader(torch.from_numpy(digits(64)), batch_size=BATCH), verbose=0)


def test_bad_label_batches_get_clear_errors():
    x, y = digits(64, with_labels=True)
    model = ConditionalVAE(num_classes=10, **TINY)
    with pytest.raises(ValueError, match=r"ConditionalVAE.fit: batches must be \(x, labels\) pairs"):
        model.fit(tf.data.Dataset.from_tensor_slices(x).batch(BATCH), epochs=1, verbose=0)
    one_hot = np.eye(10, dtype="int32")[y]
    with pytest.raises(ValueError, match=r"batches of `y` must be class ids of shape \(batch,\) \(not one-hot\)"):
        model.fit(tf.data.Dataset.from_tensor_slices((x, one_hot)).batch(BATCH), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="batches of `y` must hold integer class ids, got dtype float32"):
        model.fit(tf.data.Dataset.from_tensor_slices((x, y.astype("float32"))).batch(BATCH), epochs=1, verbose=0)


def test_classifier_checks_batches_from_datasets():
    tiny = {"input_shape": (8, 8, 1), "num_classes": 10, "filters": (8,), "feature_dim": 8, "seed": 0}
    x, y = digits(64, with_labels=True)
    history = ImageClassifier(**tiny).fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
    wrong = np.zeros((64, 8, 8), "float32")
    expected = r"ImageClassifier.call: batches of `inputs` must have shape \(batch, 8, 8, 1\)"
    with pytest.raises(ValueError, match=expected):
        ImageClassifier(**tiny).fit(tf.data.Dataset.from_tensor_slices((wrong, y)).batch(BATCH), epochs=1, verbose=0)


def test_a_failed_fit_leaves_the_model_as_it_was():
    x = digits(64)
    model = VAE(**TINY)
    model.fit(x, epochs=1, batch_size=BATCH, verbose=0)
    before = [v.numpy() if hasattr(v, "numpy") else np.asarray(v) for v in model.weights]
    with pytest.raises(ValueError, match="must be floating point"):
        model.fit(tf.data.Dataset.from_tensor_slices((x * 255).astype("uint8")).batch(BATCH), epochs=1, verbose=0)
    for variable, value in zip(model.weights, before):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(variable), value)
    assert np.isfinite(model.fit(x, epochs=1, batch_size=BATCH, verbose=0).history["loss"][-1])
    assert model.generate(2, seed=0).shape == (2, 8, 8, 1)
