"""Feature extractors for the sample-quality metrics: our shipped classifiers, or any Keras model.

Standard FID needs Inception-v3 weights, which many machines cannot download.
We ship small classifiers trained by us (`"fashion_mnist_classifier"`,
`"digits_classifier"`, see `DEFAULT_EXTRACTORS`) and measure in their
penultimate feature space; anyone with other weights passes their own
network instead. Numbers are only comparable within one feature space, so
the extractor's name is recorded next to every value.

Example:
```python
import keras
from artifex_keras.metrics import extract_features, feature_extractor, frechet_distance

ours = feature_extractor("fashion_mnist_classifier")      # features and class probabilities
real = extract_features(ours, x_test)                      # (10000, 128)

# Standard Inception features, for users with the ImageNet weights:
inception = keras.applications.InceptionV3(include_top=False, pooling="avg", input_shape=(299, 299, 3))
theirs = feature_extractor(inception, input_scale="symmetric")   # 28x28x1 in [0, 1] -> 299x299x3 in [-1, 1]
frechet_distance(extract_features(theirs, x_test), extract_features(theirs, samples))
```
"""

import os

import keras
import numpy as np

from artifex_keras import presets
from artifex_keras import validation
from artifex_keras.metrics import _checks
from artifex_keras.models.classifier import ImageClassifier

# The shipped classifier preset that measures each dataset by default.
DEFAULT_EXTRACTORS = {"digits": "digits_classifier", "fashion_mnist": "fashion_mnist_classifier"}
# How an extractor's inputs relate to images in [0, 1] (the names of `artifex_keras.data.load`'s scales).
INPUT_SCALES = ("unit", "symmetric", "raw")
_OFFSETS = {"unit": (1.0, 0.0), "symmetric": (2.0, -1.0), "raw": (255.0, 0.0)}
# Classifier presets loaded in this process, by resolved directory: loading one costs a model build.
_LOADED = {}


class FeatureExtractor:
    """Images in [0, 1] to float64 features `(N, D)`, plus class probabilities where the network is a classifier.

    Build one with `feature_extractor`. Called on a batch it returns that
    batch's features, so it plugs into `extract_features` and
    `extract_statistics`; `extract(images, batch_size)` returns features and
    probabilities together from one pass.

    Inputs go through, in order: scaling from [0, 1] to `input_scale`,
    bilinear resizing to `image_size`, repeating a single channel to
    `channels`, and `preprocess`; then the network runs in inference mode
    (`predict_on_batch` for a Keras model).

    Args:
        network: an `ImageClassifier` (features and probabilities), a
            `keras.Model` whose output is the feature vector, or a callable
            mapping a batch to features.
        name: recorded with every metric, e.g. the preset name.
        key: identifies the network for in-memory caches of real-data
            features (defaults to the object's identity).
        image_size, channels, input_scale, preprocess: see `feature_extractor`.
    """

    def __init__(self, network, name, key=None, image_size=None, channels=None, input_scale="unit", preprocess=None):
        self.network = network
        self.name = str(name)
        self.key = key if key is not None else ("object", id(network))
        self.image_size = image_size
        self.channels = channels
        self.input_scale = input_scale
        self.preprocess = preprocess

    @property
    def has_probabilities(self):
        """Whether `extract` also returns class probabilities (the network is an `ImageClassifier`)."""
        return callable(getattr(self.network, "features_and_probabilities", None))

    def __call__(self, images):
        return self._run(images)[0]

    def extract(self, images, batch_size=256):
        """`(features, probabilities)` of an image array `(N, H, W, C)` in [0, 1], batch by batch.

        `probabilities` is None unless `has_probabilities`. The last batch is
        padded to `batch_size`, so compiled networks see one shape.

        Example:
        ```python
        features, probabilities = feature_extractor("digits_classifier").extract(x_test)
        ```
        """
        owner = "FeatureExtractor.extract"
        batch_size = _checks.positive_int(owner, "batch_size", batch_size)
        if not validation.is_array_like(images) or len(images.shape) != 4 or images.shape[0] == 0:
            shape = tuple(images.shape) if validation.is_array_like(images) else type(images).__name__
            raise ValueError(f"{owner}: `images` must be a non-empty image array (N, H, W, C), got {shape}")
        images = _checks.to_numpy(images)
        features, probabilities = [], []
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size]
            count = len(batch)
            if len(images) > batch_size and count < batch_size:
                batch = np.concatenate([batch, np.repeat(batch[-1:], batch_size - count, axis=0)])
            batch_features, batch_probabilities = self._run(batch)
            features.append(batch_features[:count])
            if batch_probabilities is not None:
                probabilities.append(batch_probabilities[:count])
        return np.concatenate(features), (np.concatenate(probabilities) if probabilities else None)

    def _run(self, batch):
        batch = self._prepare(batch)
        if self.has_probabilities:
            features, probabilities = self.network.features_and_probabilities(batch, batch_size=len(batch))
            return _rows(self.name, features, len(batch)), _rows(self.name, probabilities, len(batch))
        run = self.network.predict_on_batch if isinstance(self.network, keras.Model) else self.network
        outputs = run(batch)
        if isinstance(outputs, (dict, list, tuple)):
            raise ValueError(
                f"FeatureExtractor {self.name!r}: the network must return one feature array per batch, "
                f"got a {type(outputs).__name__}; wrap a multi-output model to pick the feature output"
            )
        return _rows(self.name, outputs, len(batch)), None

    def _prepare(self, batch):
        batch = np.asarray(_checks.to_numpy(batch), dtype="float32")
        if batch.ndim != 4:
            raise ValueError(f"FeatureExtractor {self.name!r}: images must be (N, H, W, C), got shape {batch.shape}")
        scale, shift = _OFFSETS[self.input_scale]
        if (scale, shift) != (1.0, 0.0):
            batch = batch * np.float32(scale) + np.float32(shift)
        if self.image_size is not None and tuple(batch.shape[1:3]) != tuple(self.image_size):
            resized = keras.ops.image.resize(batch, tuple(self.image_size), interpolation="bilinear")
            batch = np.asarray(keras.ops.convert_to_numpy(resized), dtype="float32")
        if self.channels is not None and batch.shape[-1] != self.channels:
            if batch.shape[-1] != 1:
                raise ValueError(
                    f"FeatureExtractor {self.name!r}: can only repeat a single channel to `channels`={self.channels}, "
                    f"got images with {batch.shape[-1]} channels"
                )
            batch = np.repeat(batch, self.channels, axis=-1)
        if self.preprocess is not None:
            batch = self.preprocess(batch)
        return batch

    def __repr__(self):
        return f"FeatureExtractor({self.name!r})"


def feature_extractor(name_or_model, image_size=None, channels=None, input_scale="unit", preprocess=None):
    """A `FeatureExtractor` from a classifier preset (shipped name or directory) or any network.

    Args:
        name_or_model: a shipped classifier preset name (`"fashion_mnist_classifier"`,
            `"digits_classifier"`), a preset directory holding an `ImageClassifier`,
            an `ImageClassifier`, any `keras.Model` whose output is a feature
            vector per image (used as-is, e.g. `keras.applications.InceptionV3(
            include_top=False, pooling="avg")`), a callable mapping a batch to
            features, or a `FeatureExtractor` (returned unchanged; the options below then do not apply).
        image_size: `(height, width)` to resize images to (bilinear), or None
            for the network's own static input size when it declares one
            (otherwise images are not resized).
        channels: repeat single-channel images to this many channels, or None
            for the network's static input channels when it declares them.
        input_scale: the pixel range the network expects, `"unit"` [0, 1]
            (our classifiers), `"symmetric"` [-1, 1] (Inception-v3 in
            keras.applications and keras-hub) or `"raw"` [0, 255] (then pass
            the network's own `preprocess_input` as `preprocess` if it has one).
        preprocess: a callable applied to each batch after scaling, resizing
            and channel repetition.

    Returns:
        a `FeatureExtractor`.

    Example:
    ```python
    extractor = feature_extractor("fashion_mnist_classifier")
    features, probabilities = extractor.extract(x_test)      # (10000, 128), (10000, 10)
    resnet = keras.applications.ResNet50(include_top=False, pooling="avg", input_shape=(224, 224, 3))
    extractor = feature_extractor(resnet, input_scale="raw", preprocess=keras.applications.resnet50.preprocess_input)
    ```

    Reference:
        Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge
        to a Local Nash Equilibrium", NeurIPS 2017 (FID in Inception-v3 features).
    """
    owner = "feature_extractor"
    if input_scale not in INPUT_SCALES:
        scales = ", ".join(map(repr, INPUT_SCALES))
        raise ValueError(f"{owner}: `input_scale` must be one of {scales}, got {input_scale!r}")
    if image_size is not None:
        if not (isinstance(image_size, (tuple, list)) and len(image_size) == 2):
            raise ValueError(f"{owner}: `image_size` must be (height, width) or None, got {image_size!r}")
        image_size = tuple(_checks.positive_int(owner, "image_size", size) for size in image_size)
    if channels is not None:
        channels = _checks.positive_int(owner, "channels", channels)
    if preprocess is not None and not callable(preprocess):
        raise ValueError(f"{owner}: `preprocess` must be a callable or None, got {type(preprocess).__name__}")
    options = {"input_scale": input_scale, "preprocess": preprocess}

    if isinstance(name_or_model, FeatureExtractor):
        return name_or_model
    if isinstance(name_or_model, (str, os.PathLike)):
        network, key = _load_classifier(owner, name_or_model)
        name = str(name_or_model)
    elif isinstance(name_or_model, keras.Model) or callable(name_or_model):
        network, key = name_or_model, None
        name = getattr(name_or_model, "name", None) or type(name_or_model).__name__
    else:
        raise ValueError(
            f"{owner}: `name_or_model` must be a classifier preset name or directory, a keras.Model or a callable, "
            f"got {type(name_or_model).__name__}"
        )
    static = _static_input_shape(network)
    if static is not None:
        image_size = image_size if image_size is not None else static[:2]
        channels = channels if channels is not None else static[2]
    return FeatureExtractor(network, name, key=key, image_size=image_size, channels=channels, **options)


def default_extractor(dataset):
    """The `FeatureExtractor` of the shipped classifier for `dataset` (see `DEFAULT_EXTRACTORS`).

    Example:
    ```python
    default_extractor("digits").name   # 'digits_classifier'
    ```
    """
    if dataset not in DEFAULT_EXTRACTORS:
        known = ", ".join(f"{data!r} ({preset})" for data, preset in sorted(DEFAULT_EXTRACTORS.items()))
        raise ValueError(
            f"default_extractor: no shipped feature extractor for dataset {dataset!r}; shipped: {known}. "
            "Pass a network (a keras.Model, or an ImageClassifier preset trained on that data) as `extractor`"
        )
    return feature_extractor(DEFAULT_EXTRACTORS[dataset])


def _load_classifier(owner, preset):
    directory = presets.resolve_preset(preset).resolve()
    weights = directory / presets.WEIGHTS_FILE
    stamp = weights.stat().st_mtime_ns if weights.is_file() else None
    cached = _LOADED.get(directory)
    if cached is None or cached[0] != stamp:
        model = presets.load_preset(directory)
        if not isinstance(model, ImageClassifier):
            raise ValueError(
                f"{owner}: preset {str(preset)!r} holds a {type(model).__name__}, not an ImageClassifier; "
                "pass a classifier preset or a keras.Model"
            )
        if stamp is None:
            raise ValueError(f"{owner}: preset {str(preset)!r} has no trained weights ({presets.WEIGHTS_FILE})")
        _LOADED[directory] = cached = (stamp, model)
    return cached[1], ("preset", str(directory), stamp)


def _static_input_shape(network):
    """`(height, width, channels)` a network declares for its input (`data_shape` or a Keras input), or None."""
    data_shape = getattr(network, "data_shape", None)
    if data_shape is not None and len(data_shape) == 3:
        return tuple(int(size) for size in data_shape)
    if not isinstance(network, keras.Model):
        return None
    try:
        shape = network.input_shape
    except (AttributeError, ValueError):  # subclassed models without a symbolic input
        return None
    if not isinstance(shape, tuple) or len(shape) != 4 or any(size is None for size in shape[1:]):
        return None
    return tuple(int(size) for size in shape[1:])


def _rows(name, values, count):
    array = np.asarray(_checks.to_numpy(values))
    if array.ndim < 1 or array.shape[0] != count:
        raise ValueError(
            f"FeatureExtractor {name!r}: the network must return one row per image, got shape {array.shape} "
            f"for a batch of {count}"
        )
    return array.reshape(count, -1).astype(np.float64)
