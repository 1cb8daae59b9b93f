"""Image datasets as plain NumPy arrays, ready for `keras.Model.fit` on every backend.

Datasets (see `load` for the arguments):

- ``"digits"``: scikit-learn's bundled 8x8 digits (1797 images, values 0..16).
  Fixed split: the first 1500 images are ``"train"``, the last 297 ``"test"``.
- ``"fashion_mnist"``: 60000 + 10000 28x28 images. Read from the four IDX .gz
  files in, in order: ``$ARTIFEX_KERAS_FASHION_MNIST_DIR``,
  ``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist``),
  ``~/.cache/artifex_keras/fashion-mnist`` and its
  ``usr/share/datasets/fashion-mnist`` (a ``.deb`` unpacked with ``dpkg-deb -x``);
  otherwise from ``keras.datasets`` when its cache has the files or its server
  answers within 3 s.
- ``"mnist"``: the same from ``$ARTIFEX_KERAS_MNIST_DIR``, else ``keras.datasets``.
- ``"tfds:NAME"``: a TensorFlow Datasets dataset already prepared on this
  machine; nothing is ever downloaded.
- The 2-D toy densities of `artifex_keras.data.toy` (``"eight_gaussians"``,
  ``"checkerboard"``, ``"two_moons"``, ``"circles"``, ``"spirals"``,
  ``"pinwheel"``): float32 points ``(N, 2)`` with their component ids as
  labels; fixed seeded splits (51200 train, 10000 test). `toy.entropy(name)`
  is the optimum NLL where known.
- ``"speech"``: 16 kHz speech from the `pyannote-audio` wheel in windows of
  4096 samples in [-1, 1] (`artifex_keras.data.audio`): 24 s train, 6 s test.

Decoded uint8 arrays are cached in memory, so repeated loads are fast.
"""

import difflib
import functools
import importlib
import numbers
import os
import socket
import threading
from pathlib import Path

import numpy as np

from .audio import SPEECH_DATASETS
from .audio import speech_split
from .idx import read_idx
from .toy import TOY_DATASETS
from .toy import num_components
from .toy import toy_split

SPLITS = ("train", "test", "all")
SCALES = ("unit", "symmetric", "raw")
DIGITS_TRAIN_SIZE = 1500
IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
# Directories searched after the dataset's environment variable; "~" is expanded at search time.
DEFAULT_DIRS = {
    "fashion_mnist": (
        "/usr/share/datasets/fashion-mnist",
        "~/.cache/artifex_keras/fashion-mnist",
        "~/.cache/artifex_keras/fashion-mnist/usr/share/datasets/fashion-mnist",
    ),
    "mnist": (),
}
KERAS_HOST = ("storage.googleapis.com", 443)

_ENV_VARS = {"fashion_mnist": "ARTIFEX_KERAS_FASHION_MNIST_DIR", "mnist": "ARTIFEX_KERAS_MNIST_DIR"}
# Files keras.datasets keeps under $KERAS_HOME/datasets once downloaded (then it needs no network).
_KERAS_CACHED = {
    "fashion_mnist": tuple(f"fashion-mnist/{file}" for pair in IDX_FILES.values() for file in pair),
    "mnist": ("mnist.npz",),
}
_OFFLINE_HINTS = {
    "fashion_mnist": (
        "install Debian's `dataset-fashion-mnist` (apt-get install dataset-fashion-mnist, or `apt-get download` "
        "it and `dpkg-deb -x` it into ~/.cache/artifex_keras/fashion-mnist), or set ARTIFEX_KERAS_FASHION_MNIST_DIR"
    ),
    "mnist": "set ARTIFEX_KERAS_MNIST_DIR to a directory holding the four MNIST IDX .gz files",
}
_CLASS_NAMES = {
    "digits": tuple(str(digit) for digit in range(10)),
    "mnist": tuple(str(digit) for digit in range(10)),
    "fashion_mnist": (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ),
}
_MAX_VALUES = {"digits": 16.0, "fashion_mnist": 255.0, "mnist": 255.0}


class DatasetUnavailableError(RuntimeError):
    """A dataset is neither stored on this machine nor downloadable from it."""


def list_datasets():
    """Names `load` accepts; ``"tfds:NAME"`` stands for any prepared TensorFlow Datasets name.

    Example:
    ```python
    list_datasets()  # ['checkerboard', 'circles', 'digits', ..., 'speech', 'spirals', 'two_moons', 'tfds:NAME']
    ```
    """
    return [*sorted([*_MAX_VALUES, *TOY_DATASETS, *SPEECH_DATASETS]), "tfds:NAME"]


def class_names(name):
    """Names of the labels of dataset `name`: entry `i` names label `i`.

    Example:
    ```python
    class_names("fashion_mnist")[9]  # 'Ankle boot'
    ```
    """
    name = _check_name(name, "class_names")
    if name in TOY_DATASETS:
        return [str(component) for component in range(num_components(name))]
    if name in SPEECH_DATASETS:
        return ["speech"]
    if name.startswith("tfds:"):
        raise ValueError(
            f"class_names: label names of {name!r} come from tensorflow_datasets: "
            f"tfds.builder({name[5:]!r}).info.features['label'].names"
        )
    return list(_CLASS_NAMES[name])


def scale_images(x, scale="unit", *, max_value=255.0):
    """Convert raw pixel values in ``[0, max_value]`` to a new float32 array.

    `scale` is ``"unit"`` for [0, 1], ``"symmetric"`` for [-1, 1], or ``"raw"``
    (or None) for the 0..255 range whatever `max_value` is.

    Example:
    ```python
    scale_images(np.array([0, 255], dtype="uint8"), "symmetric")  # array([-1., 1.], dtype=float32)
    ```
    """
    _check_scale(scale, "scale_images")
    if not max_value > 0:
        raise ValueError(f"scale_images: `max_value` must be positive, got {max_value!r}")
    out = np.array(x, dtype=np.float32)
    if scale in (None, "raw"):
        out *= np.float32(255.0 / max_value)
    else:
        out /= np.float32(max_value if scale == "unit" else max_value / 2.0)
        if scale == "symmetric":
            out -= np.float32(1.0)
    return out


def load(name, split="train", *, scale="unit", with_labels=True, limit=None, flatten=False):
    """Load an image dataset as float32 ``(N, H, W, C)`` images and int32 ``(N,)`` labels.

    Args:
        name: one of `list_datasets()`, e.g. ``"fashion_mnist"`` or ``"tfds:mnist"``.
        split: ``"train"``, ``"test"`` or ``"all"`` (train then test).
        scale: ``"unit"`` [0, 1], ``"symmetric"`` [-1, 1], ``"raw"`` or None 0..255
            (see `scale_images`; digits' 0..16 maps onto the same ranges, 16 -> 255 for "raw").
            Toy densities are points, not pixels: they come back unscaled whatever `scale` is.
        with_labels: return ``(x, y)`` when True, only ``x`` when False.
        limit: keep only the first `limit` examples (a positive int) of the split.
        flatten: return images as ``(N, H * W * C)``.

    Raises:
        ValueError: for an unknown name or a bad argument.
        DatasetUnavailableError: when the data is neither stored here nor downloadable.
        ImportError: for ``"tfds:..."`` without tensorflow_datasets installed.

    Example:
    ```python
    x, y = load("fashion_mnist", split="test")         # (10000, 28, 28, 1), (10000,)
    x = load("digits", with_labels=False, flatten=True)  # (1500, 64) in [0, 1]
    ```
    """
    name = _check_name(name, "load")
    if not (isinstance(split, str) and split in SPLITS):
        raise ValueError(f"load: `split` must be one of {_quoted(SPLITS)}, got {split!r}")
    _check_scale(scale, "load")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, numbers.Integral) or limit < 1):
        raise ValueError(f"load: `limit` must be a positive int or None, got {limit!r}")
    if name in TOY_DATASETS or name in SPEECH_DATASETS:
        x, y = toy_split(name, split) if name in TOY_DATASETS else speech_split(split)
        return (x[:limit], y[:limit]) if with_labels else x[:limit]
    if name.startswith("tfds:"):
        x, y = _tfds_arrays(name[5:], split)
    else:
        parts = _local_arrays(name)
        if split == "all":
            x, y = (np.concatenate(arrays) for arrays in zip(parts["train"], parts["test"]))
        else:
            x, y = parts[split]
    x = scale_images(x[:limit], scale, max_value=_MAX_VALUES.get(name, 255.0))
    if flatten:
        x = x.reshape(len(x), -1)
    return (x, y[:limit].astype(np.int32)) if with_labels else x


def _quoted(values):
    return ", ".join(repr(value) for value in values)


def _check_scale(scale, caller):
    if scale is not None and not (isinstance(scale, str) and scale in SCALES):
        raise ValueError(f"{caller}: `scale` must be one of {_quoted(SCALES)}, got {scale!r}")


def _check_name(name, caller):
    if isinstance(name, str) and (
        name in _MAX_VALUES
        or name in TOY_DATASETS
        or name in SPEECH_DATASETS
        or (name.startswith("tfds:") and len(name) > 5)
    ):
        return name
    available = list_datasets()
    matches = difflib.get_close_matches(str(name).lower(), available[:-1])
    guess = f" Did you mean {' or '.join(repr(match) for match in matches)}?" if matches else ""
    raise ValueError(f"{caller}: unknown dataset {name!r}.{guess} Available: {', '.join(available)}")


def _local_arrays(name):
    """``{"train": (x, y), "test": (x, y)}`` with uint8 ``(N, H, W, 1)`` images, cached."""
    if name == "digits":
        return _digits()
    looked_in = []
    for directory in _search_dirs(name):
        if all((directory / file).is_file() for pair in IDX_FILES.values() for file in pair):
            return _idx_directory(str(directory))
        looked_in.append(str(directory))
    keras_cache = Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser() / "datasets"
    if all((keras_cache / file).is_file() for file in _KERAS_CACHED[name]) or _reachable(*KERAS_HOST):
        return _keras_download(name)
    searched = f"looked in: {', '.join(looked_in)}" if looked_in else f"{_ENV_VARS[name]} is not set"
    raise DatasetUnavailableError(
        f"load: dataset {name!r} is not on this machine ({searched}). "
        f"To fix, {_OFFLINE_HINTS[name]}; the keras.datasets download was not reachable "
        f"({KERAS_HOST[0]}:{KERAS_HOST[1]} did not answer)."
    )


def _search_dirs(name):
    configured = os.environ.get(_ENV_VARS[name])
    dirs = ([configured] if configured else []) + list(DEFAULT_DIRS[name])
    return [Path(directory).expanduser() for directory in dirs]


def _reachable(host, port, timeout=3.0):
    """Whether `host:port` accepts a TCP connection within `timeout` seconds, DNS lookup included."""
    answered = []

    def probe():
        try:
            socket.create_connection((host, port), timeout=timeout).close()
        except OSError:
            return
        answered.append(True)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(answered)


@functools.cache
def _digits():
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.images.astype(np.uint8)[..., None]
    return {
        "train": (images[:DIGITS_TRAIN_SIZE], digits.target[:DIGITS_TRAIN_SIZE]),
        "test": (images[DIGITS_TRAIN_SIZE:], digits.target[DIGITS_TRAIN_SIZE:]),
    }


@functools.cache
def _idx_directory(directory):
    parts = {}
    for split, (images_file, labels_file) in IDX_FILES.items():
        images = read_idx(os.path.join(directory, images_file), ndim=3)
        labels = read_idx(os.path.join(directory, labels_file), ndim=1)
        if len(images) != len(labels):
            raise ValueError(
                f"load: {images_file} holds {len(images)} images but {labels_file} holds {len(labels)} labels "
                f"(in {directory!r}); the files do not belong together"
            )
        parts[split] = (images[..., None], labels)
    return parts


@functools.cache
def _keras_download(name):
    module = importlib.import_module(f"keras.datasets.{name}")
    try:
        (x_train, y_train), (x_test, y_test) = module.load_data()
    except Exception as err:  # keras.utils.get_file raises a bare Exception when the fetch fails
        raise DatasetUnavailableError(
            f"load: downloading {name!r} with keras.datasets failed ({err}). To fix, {_OFFLINE_HINTS[name]}."
        ) from err
    return {"train": (x_train[..., None], y_train), "test": (x_test[..., None], y_test)}


def _tfds_arrays(name, split):
    try:
        import tensorflow_datasets as tfds
    except ImportError as err:
        raise ImportError(
            f"load: 'tfds:{name}' needs tensorflow_datasets; install it with `pip install tensorflow-datasets`"
        ) from err
    tfds_split = "train+test" if split == "all" else split
    try:
        x, y = tfds.as_numpy(tfds.load(name, split=tfds_split, as_supervised=True, batch_size=-1, download=False))
    except (AssertionError, OSError) as err:  # tfds asserts when the prepared data is missing
        raise DatasetUnavailableError(
            f"load: tfds dataset {name!r} is not prepared on this machine and artifex_keras never lets tfds "
            f"download. Prepare it first with `tfds build {name}` (or tfds.load({name!r}, download=True)). "
            f"tfds said: {_first_line(err)}"
        ) from err
    except ValueError as err:  # unknown dataset or split
        raise ValueError(
            f"load: tensorflow_datasets cannot load {name!r} split {tfds_split!r}: {_first_line(err)}"
        ) from err
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise ValueError(
            f"load: 'tfds:{name}' must hold images of shape (H, W) or (H, W, C), got batch shape {x.shape}"
        )
    return x, np.asarray(y)


def _first_line(err):
    return (str(err).strip().splitlines() or [type(err).__name__])[0]
