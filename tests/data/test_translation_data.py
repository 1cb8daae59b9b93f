from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from artifex_keras import data
from artifex_keras.data import loaders
from artifex_keras.data import translation

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
HAVE_FASHION = all((FASHION_DIR / f).is_file() for pair in loaders.IDX_FILES.values() for f in pair)
needs_fashion = pytest.mark.skipif(not HAVE_FASHION, reason=f"Fashion-MNIST is not installed in {FASHION_DIR}")


def test_edge_map_is_the_thresholded_sobel_magnitude():
    images = np.random.default_rng(0).uniform(0, 1, (3, 9, 7, 2)).astype("float32")
    gray = images.mean(axis=-1).astype("float64")
    magnitude = np.stack([np.hypot(ndimage.sobel(g, axis=1, mode="constant"), ndimage.sobel(g, axis=0, mode="constant"))
                          for g in gray])  # fmt: skip
    for threshold in (0.5, 1.0, 2.0):
        edges = data.edge_map(images, threshold)
        assert edges.shape == (3, 9, 7, 1) and edges.dtype == np.float32
        # Pixels within float32 rounding of the threshold may land on either side.
        clear = np.abs(magnitude - threshold) > 1e-5
        np.testing.assert_array_equal(edges[..., 0][clear], (magnitude > threshold)[clear].astype("float32"))
    assert data.edge_map(np.zeros((2, 5, 5, 1))).max() == 0.0
    square = np.zeros((1, 8, 8, 1), "float32")
    square[0, 2:6, 2:6] = 1.0
    assert data.edge_map(square)[0, 4, 4, 0] == 0.0 and data.edge_map(square)[0, 2, 4, 0] == 1.0
    with pytest.raises(ValueError, match=r"edge_map: `images` must have shape \(n, height, width, channels\)"):
        data.edge_map(np.zeros((5, 5)))


def test_two_domains_splits_by_class_in_independent_orders():
    labels = np.array([0, 1, 2, 0, 1, 0, 2, 2, 0])
    images = np.arange(len(labels), dtype="float32")[:, None, None, None] * np.ones((1, 2, 2, 1), "float32")
    a, b = data.two_domains(images, labels, classes_a=(0,), classes_b=(1, 2))
    assert len(a) == len(b) == 4
    assert set(labels[a[:, 0, 0, 0].astype(int)]) == {0} and set(labels[b[:, 0, 0, 0].astype(int)]) <= {1, 2}
    again = data.two_domains(images, labels, classes_a=(0,), classes_b=(1, 2))
    np.testing.assert_array_equal(again[0], a)
    np.testing.assert_array_equal(again[1], b)
    with pytest.raises(ValueError, match=r"two_domains: no image has a label in \(7,\)"):
        data.two_domains(images, labels, classes_a=(7,), classes_b=(1,))


@needs_fashion
def test_paired_edges_task(monkeypatch):
    monkeypatch.delenv("ARTIFEX_KERAS_FASHION_MNIST_DIR", raising=False)
    assert data.list_translation_datasets() == ["fashion_mnist_edges", "fashion_mnist_sneakers_boots"]
    assert translation.is_paired("fashion_mnist_edges") and not translation.is_paired("fashion_mnist_sneakers_boots")
    edges, images = data.load_translation("fashion_mnist_edges", split="test", limit=50)
    expected = data.load("fashion_mnist", split="test", with_labels=False, limit=50)
    np.testing.assert_array_equal(images, expected)
    np.testing.assert_array_equal(edges, data.edge_map(expected))
    assert edges.shape == images.shape == (50, 28, 28, 1) and 0.05 < edges.mean() < 0.5
    symmetric_edges, symmetric = data.load_translation("fashion_mnist_edges", split="test", limit=50, scale="symmetric")
    np.testing.assert_allclose(symmetric, images * 2.0 - 1.0, atol=1e-6)
    np.testing.assert_array_equal(np.unique(symmetric_edges), [-1.0, 1.0])


@needs_fashion
def test_unpaired_sneakers_boots_task(monkeypatch):
    monkeypatch.delenv("ARTIFEX_KERAS_FASHION_MNIST_DIR", raising=False)
    a, b = data.load_translation("fashion_mnist_sneakers_boots", split="test")
    assert a.shape == b.shape == (1000, 28, 28, 1) and a.dtype == b.dtype == np.float32
    x, y = data.load("fashion_mnist", split="test")
    flat = {image.tobytes(): label for image, label in zip(x, y)}
    assert {flat[image.tobytes()] for image in a} == {7} and {flat[image.tobytes()] for image in b} == {9}
    assert len({image.tobytes() for image in a}) > 990
    # Each domain is shuffled with its own seed: not in dataset order.
    order = [np.flatnonzero((x == image).all(axis=(1, 2, 3)))[0] for image in a[:20]]
    assert order != sorted(order)
    _, first_boots = data.load_translation("fashion_mnist_sneakers_boots", split="test", limit=7)
    np.testing.assert_array_equal(first_boots, b[:7])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(name="fashion_mnist_edge"), "unknown translation dataset 'fashion_mnist_edge'. Did you mean"),
        (dict(split="valid"), "`split` must be one of 'train', 'test', 'all', got 'valid'"),
        (dict(scale="raw"), "`scale` must be one of 'unit', 'symmetric', got 'raw'"),
        (dict(limit=0), "`limit` must be a positive int or None, got 0"),
    ],
)
def test_bad_arguments(kwargs, message):
    kwargs = {"name": "fashion_mnist_edges", **kwargs}
    with pytest.raises(ValueError, match=message):
        data.load_translation(kwargs.pop("name"), **kwargs)
