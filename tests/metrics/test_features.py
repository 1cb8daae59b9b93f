"""Feature extraction over batches and streaming feature statistics."""

import keras
import numpy as np
import pytest

from artifex_keras.metrics import FeatureStatistics
from artifex_keras.metrics import extract_features
from artifex_keras.metrics import extract_statistics


def tiny_extractor():
    return keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((37, 4, 4, 1)).astype("float32")


def test_batch_size_does_not_change_features(images):
    extractor = tiny_extractor()
    one_shot = extract_features(extractor, images, batch_size=64)
    assert one_shot.shape == (37, 3) and one_shot.dtype == np.float64
    for batch_size in (1, 8, 36):
        np.testing.assert_allclose(extract_features(extractor, images, batch_size=batch_size), one_shot, atol=1e-6)
    expected = images.reshape(37, -1) @ keras.ops.convert_to_numpy(extractor.layers[-1].kernel)
    expected += keras.ops.convert_to_numpy(extractor.layers[-1].bias)
    np.testing.assert_allclose(one_shot, expected, atol=1e-5)


def test_last_batch_is_padded_so_every_call_sees_one_shape(images):
    shapes = []

    def extractor(batch):
        shapes.append(batch.shape)
        return batch[:, 0, 0, :] * 2.0

    features = extract_features(extractor, images, batch_size=16)
    assert shapes == [(16, 4, 4, 1)] * 3
    np.testing.assert_array_equal(features, images[:, 0, 0, :] * 2.0)


def test_streamed_batches_and_labelled_tuples_flatten_outputs(images):
    batches = ((images[start : start + 10], np.zeros(10)) for start in range(0, 37, 10))
    features = extract_features(lambda batch: batch * 1.0, batches)
    np.testing.assert_array_equal(features, images.reshape(37, 16))


def test_backend_tensors_and_py_datasets(images):
    extractor = tiny_extractor()
    expected = extract_features(extractor, images, batch_size=10)
    tensor = keras.ops.convert_to_tensor(images)
    np.testing.assert_allclose(extract_features(extractor, tensor, batch_size=10), expected, atol=1e-6)

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 4

        def __getitem__(self, index):
            return images[index * 10 : (index + 1) * 10]

    np.testing.assert_allclose(extract_features(extractor, Batches()), expected, atol=1e-6)
    statistics = FeatureStatistics().update(keras.ops.convert_to_tensor(expected))
    np.testing.assert_allclose(statistics.mean, expected.mean(axis=0), atol=1e-6)


def test_extract_statistics_matches_extract_features(images):
    extractor = tiny_extractor()
    features = extract_features(extractor, images, batch_size=5)
    statistics = extract_statistics(extractor, images, batch_size=5)
    assert statistics.count == 37 and statistics.dim == 3
    np.testing.assert_allclose(statistics.mean, features.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(statistics.covariance, np.cov(features, rowvar=False), atol=1e-12)


@pytest.mark.parametrize("batch_size", [1, 7, 100, 1000])
def test_streaming_statistics_match_one_shot(batch_size):
    features = np.random.default_rng(1).normal(3.0, 2.0, size=(1000, 6))
    statistics = FeatureStatistics()
    for start in range(0, len(features), batch_size):
        statistics.update(features[start : start + batch_size])
    assert statistics.count == 1000
    np.testing.assert_allclose(statistics.mean, features.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(statistics.covariance, np.cov(features, rowvar=False), rtol=1e-10)


def test_merge_combines_shards():
    features = np.random.default_rng(2).normal(size=(50, 4))
    merged = FeatureStatistics().update(features[:20]).merge(FeatureStatistics().update(features[20:]))
    np.testing.assert_allclose(merged.covariance, np.cov(features, rowvar=False), rtol=1e-12)


def test_bad_inputs_name_the_argument(images):
    with pytest.raises(ValueError, match="extract_features: `batch_size` must be a positive int, got 0"):
        extract_features(tiny_extractor(), images, batch_size=0)
    with pytest.raises(ValueError, match="extract_features: `extractor` must be a keras.Model or a callable"):
        extract_features("inception", images)
    with pytest.raises(ValueError, match="extract_features: `images` yielded no examples"):
        extract_features(tiny_extractor(), iter([]))
    with pytest.raises(ValueError, match="one row per example"):
        extract_features(lambda batch: np.zeros(3), images)
    with pytest.raises(ValueError, match=r"FeatureStatistics.update: `features` must have 3 features .* \(2, 4\)"):
        FeatureStatistics().update(np.zeros((2, 3))).update(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="FeatureStatistics: `covariance` needs at least 2 samples, got 1"):
        _ = FeatureStatistics().update(np.zeros((1, 3))).covariance
