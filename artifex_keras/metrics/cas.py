"""Classification Accuracy Score: train a classifier on generated labelled samples, test it on real data."""

import numbers

import keras
import numpy as np

from artifex_keras import validation
from artifex_keras.conditioning import ClassLabels
from artifex_keras.metrics import _checks
from artifex_keras.metrics.generated import generated_batches
from artifex_keras.models.classifier import ImageClassifier

DEFAULT_NUM_PER_CLASS = 1000
DEFAULT_EPOCHS = 10
DEFAULT_BATCH_SIZE = 128
LEARNING_RATE = 1e-3


def classification_accuracy_score(
    model,
    real_test_x,
    real_test_y,
    num_per_class=DEFAULT_NUM_PER_CLASS,
    classifier_factory=None,
    epochs=DEFAULT_EPOCHS,
    batch_size=DEFAULT_BATCH_SIZE,
    real_train=None,
    seed=0,
    sampler=None,
):
    """Accuracy on real test data of a classifier trained only on a conditional model's samples.

    Draws `num_per_class` samples of every class from `model` (class-balanced,
    mapped to [0, 1] and clipped, see `generated_batches`), trains a fresh
    classifier on them for `epochs` epochs (examples reshuffled every epoch
    with `seed`), and returns its accuracy on `(real_test_x, real_test_y)`.
    A model whose samples carry the class information of the data scores
    close to a classifier trained on real data; a sharp but
    mode-dropping model scores low, which FD-style metrics can miss.

    With `real_train=(x, y)`, also trains the same classifier, the same way,
    on up to `num_per_class` real examples of each class (the first ones in
    `x`) and returns that accuracy as the baseline: what "perfect" looks like
    at this training budget.

    Args:
        model: a class-conditional generative model (its `condition_spec()`
            is `ClassLabels`; `generate(n, labels=..., seed=...)`).
        real_test_x: real test images `(N, *model.data_shape)` in [0, 1].
        real_test_y: their integer labels `(N,)`.
        num_per_class: generated training examples per class.
        classifier_factory: `factory(input_shape, num_classes) -> keras.Model`
            returning logits; compiled here unless already compiled (Adam,
            learning rate 1e-3 decayed to 0 over the run on a cosine,
            sparse cross-entropy on logits, accuracy). None: an
            `ImageClassifier` with the default architecture, seeded with `seed`.
        epochs: training epochs.
        batch_size: training and test batch size.
        real_train: `(x, y)` real training images in [0, 1] and labels for
            the baseline, or None.
        sampler: the sampler `model.generate` draws with (None: its default).
        seed: seed of the generated samples, the classifier's initialisation
            and the shuffling.

    Returns:
        the score (float in [0, 1]); `(score, real_accuracy)` when
        `real_train` is given.

    Example:
    ```python
    x_test, y_test = artifex_keras.data.load("fashion_mnist", split="test")
    score, real = classification_accuracy_score(
        cvae, x_test, y_test, num_per_class=1000, real_train=artifex_keras.data.load("fashion_mnist")
    )
    ```

    Reference:
        Ravuri & Vinyals, "Classification Accuracy Score for Conditional
        Generative Models", NeurIPS 2019.
    """
    owner = "classification_accuracy_score"
    num_classes = _num_classes(owner, model)
    data_shape = tuple(model.data_shape)
    num_per_class = _checks.positive_int(owner, "num_per_class", num_per_class)
    epochs = _checks.positive_int(owner, "epochs", epochs)
    batch_size = _checks.positive_int(owner, "batch_size", batch_size)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"{owner}: `seed` must be a non-negative int, got {seed!r}")
    if classifier_factory is not None and not callable(classifier_factory):
        raise ValueError(
            f"{owner}: `classifier_factory` must be a callable (input_shape, num_classes) -> keras.Model or None, "
            f"got {type(classifier_factory).__name__}"
        )
    test_x, test_y = _labelled(owner, "real_test", real_test_x, real_test_y, data_shape, num_classes)
    if real_train is not None:
        if not (isinstance(real_train, (tuple, list)) and len(real_train) == 2):
            raise ValueError(f"{owner}: `real_train` must be an (x, y) pair or None, got {type(real_train).__name__}")
        train_x, train_y = _labelled(owner, "real_train", *real_train, data_shape, num_classes)

    labels = np.repeat(np.arange(num_classes, dtype="int32"), num_per_class)
    batches = generated_batches(model, len(labels), seed=seed, conditions={"labels": labels}, sampler=sampler)
    fake_x = np.concatenate(list(batches))
    score = _train_and_test(classifier_factory, fake_x, labels, test_x, test_y, num_classes, epochs, batch_size, seed)
    if real_train is None:
        return score
    # Grouped by class like the generated set, so a model that returns the training data scores the baseline exactly.
    keep = np.concatenate([np.flatnonzero(train_y == label)[:num_per_class] for label in range(num_classes)])
    real = _train_and_test(
        classifier_factory, train_x[keep], train_y[keep], test_x, test_y, num_classes, epochs, batch_size, seed
    )
    return score, real


def _train_and_test(factory, train_x, train_y, test_x, test_y, num_classes, epochs, batch_size, seed):
    steps = epochs * -(-len(train_x) // batch_size)
    classifier = _classifier(factory, train_x.shape[1:], num_classes, seed, steps)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        # Our own permutation per epoch: the same order on every backend and run.
        order = rng.permutation(len(train_x))
        classifier.fit(train_x[order], train_y[order], epochs=1, batch_size=batch_size, shuffle=False, verbose=0)
    logits = keras.ops.convert_to_numpy(classifier.predict(test_x, batch_size=batch_size, verbose=0))
    return float(np.mean(np.argmax(logits, axis=-1) == test_y))


def _classifier(factory, input_shape, num_classes, seed, steps):
    if factory is None:
        classifier = ImageClassifier(input_shape=tuple(int(s) for s in input_shape), num_classes=num_classes, seed=seed)
    else:
        classifier = factory(tuple(int(s) for s in input_shape), num_classes)
        if not isinstance(classifier, keras.Model):
            raise ValueError(
                "classification_accuracy_score: `classifier_factory` must return a keras.Model, "
                f"got {type(classifier).__name__}"
            )
    if not classifier.compiled:
        # At a constant learning rate the test accuracy of a batch-normalised classifier swings by
        # several points from one epoch to the next; decaying it to 0 makes the score repeatable.
        schedule = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, decay_steps=steps)
        classifier.compile(
            optimizer=keras.optimizers.Adam(learning_rate=schedule),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
    return classifier


def _num_classes(owner, model):
    spec = model.condition_spec() if callable(getattr(model, "condition_spec", None)) else None
    if not isinstance(spec, ClassLabels):
        raise ValueError(
            f"{owner}: `model` must be a class-conditional generative model (condition_spec() of ClassLabels), "
            f"got {type(model).__name__} conditioned on {spec!r}"
        )
    return spec.num_classes


def _labelled(owner, argument, x, y, data_shape, num_classes):
    x = _checks.to_numpy(x)
    validation.check_batch(owner, f"{argument}_x", x, data_shape, (0.0, 1.0))
    y = _checks.to_numpy(y)
    if y.ndim != 1 or len(y) != len(x) or len(x) == 0:
        raise ValueError(
            f"{owner}: `{argument}_y` must hold one label per image of `{argument}_x` ({len(x)},), got shape {y.shape}"
        )
    validation.check_labels(owner, f"{argument}_y", y, num_classes)
    return np.asarray(x, dtype="float32"), y.astype("int32")
