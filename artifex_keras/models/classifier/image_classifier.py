"""A small convolutional image classifier: our own feature extractor for sample-quality metrics."""

import dataclasses

import keras
import numpy as np
from keras import layers
from keras import ops

from artifex_keras import validation
from artifex_keras.conditioning import ClassLabels
from artifex_keras.config import Config
from artifex_keras.models.configured import ConfiguredModel
from artifex_keras.models.registration import register_model


@dataclasses.dataclass(frozen=True)
class ImageClassifierConfig(Config):
    """Configuration of an `ImageClassifier`.

    Args:
        input_shape: shape of one image, `(height, width, channels)`, values in [0, 1].
        num_classes: number of class labels (ints in `[0, num_classes)`).
        filters: filters of each conv block; every block but the last ends
            with a 2x2 max-pool.
        convs_per_block: 3x3 conv-batchnorm-ReLU layers per block.
        feature_dim: width of the penultimate dense layer, the features that
            `features()` returns.
        dropout: dropout rate between the features and the logits (training only).
        seed: seed of the weight initialisers and the dropout masks (None: Keras' global seed).
    """

    input_shape: tuple = (28, 28, 1)
    num_classes: int = 10
    filters: tuple = (32, 64, 128)
    convs_per_block: int = 1
    feature_dim: int = 128
    dropout: float = 0.3
    seed: int | None = None

    def validate(self):
        self.check_int_tuple("input_shape", length=3)
        self.check_positive_int("num_classes")
        if self.num_classes < 2:
            self._fail("num_classes", "at least 2", self.num_classes)
        self.check_int_tuple("filters")
        self.check_positive_int("convs_per_block")
        self.check_positive_int("feature_dim")
        self.check_number("dropout", low=0.0, high=1.0, high_inclusive=False)
        if self.seed is not None:
            self.check_non_negative_int("seed")


@register_model("image_classifier")
class ImageClassifier(ConfiguredModel):
    """Conv-batchnorm-ReLU blocks, global average pooling, a dense feature layer and class logits.

    It measures generative models: its penultimate activations are the
    feature space of Fréchet distance, KID, precision/recall and
    density/coverage on datasets without a standard network (Fashion-MNIST,
    the 8x8 digits), its class probabilities give an Inception-Score-style
    score, and a fresh one trained on generated images gives the
    Classification Accuracy Score. It is a plain `keras.Model` (not a
    generative model) that reads, writes and ships as a preset like the
    generative ones (family `"feature_extractor"`). `call` returns logits.

    Args:
        config: an `ImageClassifierConfig`, or pass its fields as keyword arguments.

    Example:
    ```python
    x, y = artifex_keras.data.load("digits")
    model = ImageClassifier(input_shape=(8, 8, 1), num_classes=10, filters=(16, 32), feature_dim=32)
    model.compile()                              # Adam, sparse cross-entropy on logits, accuracy
    model.fit(x, y, epochs=5, batch_size=64)
    model.features(x[:4]).shape                  # (4, 32) NumPy
    model.predict_proba(x[:4]).sum(axis=1)       # ones
    ```

    Reference:
        Ioffe & Szegedy, "Batch Normalization", ICML 2015; the blocks follow
        Simonyan & Zisserman, "Very Deep Convolutional Networks for
        Large-Scale Image Recognition", ICLR 2015, with global average pooling
        (Lin et al., "Network In Network", ICLR 2014).
    """

    config_class = ImageClassifierConfig
    family = "feature_extractor"

    def __init__(self, config=None, *, name=None, dtype=None, trainable=True, **kwargs):
        config = self._resolve_config(config, kwargs)
        super().__init__(name=name or "image_classifier", dtype=dtype, trainable=trainable)
        self.config = config
        seed = config.seed
        stack = [keras.Input(shape=config.input_shape)]
        for block, filters in enumerate(config.filters):
            for conv in range(config.convs_per_block):
                initializer = keras.initializers.HeNormal(seed=_offset(seed, block * config.convs_per_block + conv))
                stack.append(layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_initializer=initializer))
                # Momentum 0.9, not Keras' 0.99: the running statistics settle within the few hundred
                # steps a small dataset (the 8x8 digits, a CAS training set) gives.
                stack += [layers.BatchNormalization(momentum=0.9), layers.ReLU()]
            if block < len(config.filters) - 1:
                stack.append(layers.MaxPooling2D(2, padding="same"))
        initializer = keras.initializers.HeNormal(seed=_offset(seed, 1000))
        stack += [
            layers.GlobalAveragePooling2D(),
            layers.Dense(config.feature_dim, activation="relu", name="features", kernel_initializer=initializer),
        ]
        self.trunk = keras.Sequential(stack, name="trunk")
        self.dropout = layers.Dropout(config.dropout, seed=_offset(seed, 2000))
        self.head = layers.Dense(
            config.num_classes,
            name="logits",
            kernel_initializer=keras.initializers.GlorotUniform(seed=_offset(seed, 3000)),
        )
        self.head.build((None, config.feature_dim))
        self.built = True

    @property
    def data_shape(self):
        """Shape of one image (no batch axis)."""
        return tuple(self.config.input_shape)

    @property
    def data_range(self):
        """Pixel values the classifier is trained on."""
        return (0.0, 1.0)

    def label_spec(self):
        """A classifier trains on `(x, labels)`."""
        return ClassLabels(self.config.num_classes)

    def call(self, inputs, training=False):
        # Batches from datasets reach the model only here: check their static shape and dtype.
        validation.check_batch_spec(f"{type(self).__name__}.call", "inputs", inputs, self.data_shape)
        features = self.trunk(ops.cast(inputs, self.compute_dtype), training=training)
        return ops.cast(self.head(self.dropout(features, training=training)), "float32")

    # Training ---------------------------------------------------------------
    def default_optimizers(self):
        """Adam with learning rate 1e-3 for its one phase, `"model"`."""
        return {"model": keras.optimizers.Adam(learning_rate=1e-3)}

    def compile(self, optimizer=None, loss=None, metrics=None, **kwargs):
        """Compile with Adam (learning rate 1e-3), sparse cross-entropy on logits and accuracy by default."""
        super().compile(
            optimizer=optimizer if optimizer is not None else self.default_optimizers()["model"],
            loss=loss if loss is not None else keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=metrics if metrics is not None else ["accuracy"],
            **kwargs,
        )
        # Build now: an optimizer built lazily inside a JAX trace loses its state, and `.keras` loading needs its slots.
        self.optimizer.build(self.trainable_variables)

    def check_training_data(self, x, y, method):
        owner = f"{type(self).__name__}.{method}"
        validation.check_batch(owner, "x", x, self.data_shape, self.data_range)
        if validation.is_array_like(x):
            if y is None:
                raise ValueError(f"{owner}: `y` (class labels) is required to train a classifier, got None")
            validation.check_labels(owner, "y", y, self.config.num_classes, batch_size=len(x))

    # Public NumPy API ---------------------------------------------------------
    def features(self, x, batch_size=256):
        """Penultimate activations `(N, feature_dim)` of images in [0, 1], as float32 NumPy."""
        self._check_images("features", x)
        return self.map_compiled("features", lambda generator, xb: self._embed(xb)[0], batch_size, _floats(x))

    def predict_proba(self, x, batch_size=256):
        """Class probabilities `(N, num_classes)` of images in [0, 1], as float32 NumPy."""
        self._check_images("predict_proba", x)
        probabilities = lambda generator, xb: ops.softmax(self._embed(xb)[1])  # noqa: E731
        return self.map_compiled("predict_proba", probabilities, batch_size, _floats(x))

    def features_and_probabilities(self, x, batch_size=256):
        """`(features, probabilities)` from one pass over images in [0, 1]."""
        self._check_images("features_and_probabilities", x)

        def run(generator, batch):
            features, logits = self._embed(batch)
            return features, ops.softmax(logits)

        return self.map_compiled("features_and_probabilities", run, batch_size, _floats(x))

    def _embed(self, x):
        features = self.trunk(ops.cast(x, self.compute_dtype), training=False)
        return ops.cast(features, "float32"), ops.cast(self.head(features), "float32")

    def _check_images(self, method, x):
        owner = f"{type(self).__name__}.{method}"
        if not validation.is_array_like(x):
            raise ValueError(f"{owner}: `x` must be an array of images (N, {', '.join(map(str, self.data_shape))}), "
                             f"got {type(x).__name__}")
        validation.check_batch(owner, "x", x, self.data_shape, self.data_range)
        if not len(x):
            raise ValueError(f"{owner}: `x` must hold at least one image, got shape {tuple(x.shape)}")


def _floats(x):
    return np.asarray(keras.ops.convert_to_numpy(x) if keras.ops.is_tensor(x) else x, "float32")


def _offset(seed, index):
    """A distinct seed per initialiser, or None to use Keras' global seed."""
    return None if seed is None else seed + index
