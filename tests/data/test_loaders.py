import gzip
import re
import struct
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest

from artifex_keras import data
from artifex_keras.data import DatasetUnavailableError
from artifex_keras.data import loaders

ROOT = Path(__file__).resolve().parents[2]
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
HAVE_FASHION = all((FASHION_DIR / f).is_file() for pair in loaders.IDX_FILES.values() for f in pair)
RANGES = {"unit": (0.0, 1.0), "symmetric": (-1.0, 1.0), "raw": (0.0, 255.0), None: (0.0, 255.0)}


def write_idx(path, array, magic=None, gzipped=True):
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">I", magic if magic is not None else 0x800 | array.ndim)
    payload = header + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    path.write_bytes(gzip.compress(payload) if gzipped else payload)


def write_idx_dataset(directory, n_train=5, n_test=3, size=4):
    rng = np.random.default_rng(0)
    for (images, labels), n in zip(loaders.IDX_FILES.values(), (n_train, n_test)):
        write_idx(directory / images, rng.integers(0, 256, (n, size, size)))
        write_idx(directory / labels, rng.integers(0, 10, n))


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No dataset directory holds files, keras has no cache, and the network is unreachable."""
    for name, env_var in loaders._ENV_VARS.items():
        monkeypatch.setenv(env_var, str(tmp_path))
        monkeypatch.setitem(loaders.DEFAULT_DIRS, name, ())
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(loaders, "_reachable", lambda *args, **kwargs: False)
    return tmp_path


def test_list_datasets_and_class_names():
    assert data.list_datasets() == [
        "checkerboard", "circles", "digits", "eight_gaussians", "fashion_mnist", "mnist", "pinwheel", "speech",
        "spirals", "two_moons", "tfds:NAME",
    ]  # fmt: skip
    assert data.class_names("digits") == [str(i) for i in range(10)]
    assert data.class_names("fashion_mnist")[0] == "T-shirt/top"
    assert data.class_names("fashion_mnist")[9] == "Ankle boot"
    with pytest.raises(ValueError, match="class_names: label names of 'tfds:mnist'"):
        data.class_names("tfds:mnist")


@pytest.mark.parametrize("scale", ["unit", "symmetric", "raw", None])
def test_digits_scales(scale):
    x, y = data.load("digits", scale=scale)
    assert x.shape == (1500, 8, 8, 1) and x.dtype == np.float32 and x.flags.c_contiguous
    assert y.shape == (1500,) and y.dtype == np.int32 and set(np.unique(y)) == set(range(10))
    assert (x.min(), x.max()) == RANGES[scale]


def test_digits_splits_limit_flatten_labels():
    assert data.load("digits", "test")[0].shape == (297, 8, 8, 1)
    x_all, y_all = data.load("digits", "all")
    assert x_all.shape == (1797, 8, 8, 1) and y_all.shape == (1797,)
    np.testing.assert_array_equal(x_all[1500:], data.load("digits", "test", with_labels=False))
    x = data.load("digits", with_labels=False, limit=10, flatten=True)
    assert isinstance(x, np.ndarray) and x.shape == (10, 64) and x.flags.c_contiguous
    np.testing.assert_array_equal(x, x_all[:10].reshape(10, 64))
    assert data.load("digits", "all", limit=np.int64(1600))[1].shape == (1600,)
    assert data.load("digits", "test", limit=10_000)[0].shape == (297, 8, 8, 1)


def test_loads_do_not_share_memory():
    x = data.load("digits", with_labels=False, scale="raw")
    x[:] = -5.0
    assert data.load("digits", with_labels=False, scale="raw").min() == 0.0


def test_scale_images():
    raw = np.array([0, 51, 255], dtype=np.uint8)
    np.testing.assert_allclose(data.scale_images(raw), [0.0, 0.2, 1.0])
    np.testing.assert_allclose(data.scale_images(raw, "symmetric"), [-1.0, -0.6, 1.0])
    assert data.scale_images(raw, "raw").dtype == np.float32
    np.testing.assert_array_equal(data.scale_images([0, 16], "raw", max_value=16), [0.0, 255.0])
    with pytest.raises(ValueError, match=r"scale_images: `scale` must be one of 'unit', 'symmetric', 'raw', got 'foo'"):
        data.scale_images(raw, "foo")


def test_unknown_name_suggests_close_match():
    with pytest.raises(ValueError) as info:
        data.load("fashion_mnst")
    assert str(info.value) == (
        "load: unknown dataset 'fashion_mnst'. Did you mean 'fashion_mnist'? "
        "Available: checkerboard, circles, digits, eight_gaussians, fashion_mnist, mnist, pinwheel, speech, "
        "spirals, two_moons, tfds:NAME"
    )
    with pytest.raises(ValueError, match="unknown dataset 'tfds:'"):
        data.load("tfds:")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"split": "valid"}, "load: `split` must be one of 'train', 'test', 'all', got 'valid'"),
        ({"scale": "foo"}, "load: `scale` must be one of 'unit', 'symmetric', 'raw', got 'foo'"),
        ({"limit": 0}, "load: `limit` must be a positive int or None, got 0"),
        ({"limit": -3}, "got -3"),
        ({"limit": 2.5}, "got 2.5"),
        ({"limit": True}, "got True"),
        ({"limit": "3"}, "got '3'"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        data.load("digits", **kwargs)


@pytest.mark.skipif(not HAVE_FASHION, reason=f"Debian's dataset-fashion-mnist is not installed in {FASHION_DIR}")
def test_fashion_mnist_full(monkeypatch):
    monkeypatch.delenv("ARTIFEX_KERAS_FASHION_MNIST_DIR", raising=False)
    x_train, y_train = data.load("fashion_mnist")
    x_test = data.load("fashion_mnist", "test", scale="symmetric", with_labels=False)
    assert x_train.shape == (60000, 28, 28, 1) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 28, 28, 1)
    assert x_train.dtype == x_test.dtype == np.float32 and y_train.dtype == np.int32
    assert (x_train.min(), x_train.max()) == (0.0, 1.0) and (x_test.min(), x_test.max()) == (-1.0, 1.0)
    assert np.bincount(y_train).tolist() == [6000] * 10


def test_idx_directory_from_env_var(monkeypatch, tmp_path):
    write_idx_dataset(tmp_path)
    monkeypatch.setenv("ARTIFEX_KERAS_MNIST_DIR", str(tmp_path))
    x, y = data.load("mnist", "all", scale="raw")
    assert x.shape == (8, 4, 4, 1) and y.shape == (8,) and y.dtype == np.int32
    assert x.max() <= 255.0 and x.dtype == np.float32


@pytest.mark.parametrize(
    "write, message",
    [
        (lambda path: write_idx(path, np.zeros((2, 4, 4)), magic=0x801), "magic number 2049, expected 2051"),
        (lambda path: path.write_bytes(gzip.compress(b"\0\0\x08\x03" + struct.pack(">3I", 9, 4, 4))), "announces"),
        (lambda path: write_idx(path, np.zeros((2, 4, 4)), gzipped=False), "not a readable gzip file"),
    ],
)
def test_corrupt_idx_file_is_named(monkeypatch, tmp_path, write, message):
    write_idx_dataset(tmp_path)
    write(tmp_path / "train-images-idx3-ubyte.gz")
    monkeypatch.setenv("ARTIFEX_KERAS_MNIST_DIR", str(tmp_path))
    with pytest.raises(ValueError, match=message) as info:
        data.load("mnist")
    assert "train-images-idx3-ubyte.gz" in str(info.value)


@pytest.mark.parametrize("name", ["fashion_mnist", "mnist"])
def test_unavailable_is_fast_and_names_both_ways(offline, name):
    start = time.monotonic()
    with pytest.raises(DatasetUnavailableError) as info:
        data.load(name)
    assert time.monotonic() - start < 1.0
    message = str(info.value)
    assert str(offline) in message and "keras.datasets download was not reachable" in message
    assert loaders._ENV_VARS[name] in message
    if name == "fashion_mnist":
        assert "apt-get install dataset-fashion-mnist" in message and "dpkg-deb -x" in message


def test_reachability_check_is_bounded():
    start = time.monotonic()
    assert loaders._reachable("artifex-keras.invalid", 443, timeout=0.5) is False
    assert time.monotonic() - start < 1.5


def test_tfds_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)
    with pytest.raises(ImportError, match="pip install tensorflow-datasets"):
        data.load("tfds:mnist")


def fake_tfds(load):
    return types.SimpleNamespace(load=load, as_numpy=lambda arrays: arrays)


def test_tfds_converts_and_never_downloads(monkeypatch):
    calls = []

    def load(name, **kwargs):
        calls.append((name, kwargs))
        return np.full((3, 5, 5), 255, dtype=np.uint8), np.arange(3, dtype=np.int64)

    monkeypatch.setitem(sys.modules, "tensorflow_datasets", fake_tfds(load))
    x, y = data.load("tfds:mnist", "all", scale="symmetric")
    assert x.shape == (3, 5, 5, 1) and x.dtype == np.float32 and np.all(x == 1.0)
    assert y.dtype == np.int32 and y.tolist() == [0, 1, 2]
    assert calls == [("mnist", dict(split="train+test", as_supervised=True, batch_size=-1, download=False))]


def test_tfds_not_prepared(monkeypatch):
    def load(name, **kwargs):
        raise AssertionError(f"Dataset {name}: could not find data in ~/tensorflow_datasets.")

    monkeypatch.setitem(sys.modules, "tensorflow_datasets", fake_tfds(load))
    with pytest.raises(DatasetUnavailableError, match="tfds build mnist"):
        data.load("tfds:mnist")


def test_import_needs_only_numpy():
    code = (
        "import sys, types; pkg = types.ModuleType('artifex_keras'); pkg.__path__ = [sys.argv[1]];"
        "sys.modules['artifex_keras'] = pkg; import artifex_keras.data;"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'keras', 'sklearn', 'tensorflow', "
        "'tensorflow_datasets', 'jax', 'torch'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "artifex_keras")], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_outputs_fit_a_keras_model():
    keras = pytest.importorskip("keras")
    x, y = data.load("digits", limit=64, flatten=True)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10)])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
