"""Held-out metrics of a model, chosen by the methods the model has, with the real-data floor beside each.

`METRICS` maps the name of a model method (a capability, such as `"elbo"`,
`"nll"` or `"generate"`) to a function `fn(model, x, labels, settings) -> dict`
that returns metric values; `evaluate_model` runs every entry whose method the
model has. A family adds its metrics by adding an entry. `x` is the evaluated split scaled
to the model's `data_range`; `labels` is None unless the model is conditional
or a classifier. `settings` holds `data`, `split`, `limit`, `batch_size`,
`num_samples`, `iwae_samples`, `extractor`, `seed`, `cas` and `sources`.

Image-to-image models (conditioned on `SourceImages`: `Pix2Pix`,
`CycleGAN`) are evaluated on a translation task
(`artifex_keras.data.list_translation_datasets()`): `x` is then the split's
target-domain images (the targets of a paired task, domain B of an unpaired
one) and `settings["sources"]` the source images (domain A) they translate.
Their sample metrics compare the translations of the sources with the real
target-domain images, the floor the real target-domain images of the other
split with them; a paired task adds the L1 and PSNR of each translation
against its own target.

Language models (models with `text_nll`: `TransformerLM`) are evaluated on a
text corpus (`artifex_keras.data.list_text_datasets()`): the cross entropy of
its held-out works per token and per character, see `language_model_metrics`.

Sample-quality metrics (`"generate"`, image models only) are measured in the
feature space of a classifier, by default the shipped preset for the dataset
(`artifex_keras.metrics.DEFAULT_EXTRACTORS`). Next to each value sits its
floor: the same metric between the evaluated split and as many examples of
another split (train, or test when the train split is evaluated), in the same
feature space; for the Inception Score, the score of the real evaluated
split; for CAS, the accuracy of the same classifier trained on real data.
Floors and real features are cached in memory per (dataset, split, limit,
extractor, number of samples).

Example:
```python
import artifex_keras as ak
from artifex_keras.evaluation import evaluate_model

model = ak.from_preset("vae_fashion_mnist")
evaluate_model(model, data="fashion_mnist", split="test")
# {'data': 'fashion_mnist', 'split': 'test', 'num_examples': 10000, 'neg_elbo_nats': ...,
#  'iwae_nll_nats': ..., 'iwae_num_samples': 100, 'extractor': 'fashion_mnist_classifier',
#  'num_samples': 10000, 'seed': 0, 'fd': ..., 'kid': ..., 'precision': ..., 'recall': ...,
#  'density': ..., 'coverage': ..., 'inception_score': ...,
#  'floor': {'reference_split': 'train', 'num_examples': 10000, 'fd': ..., ...}, 'seconds': ...}
```
"""

import math
import numbers
import time

import keras
import numpy as np

from artifex_keras import data as datasets
from artifex_keras import samplers
from artifex_keras import validation
from artifex_keras.conditioning import ClassLabels
from artifex_keras.conditioning import SourceImages
from artifex_keras.data.text import list_text_datasets
from artifex_keras.data.text import load_text
from artifex_keras.data.translation import base_dataset
from artifex_keras.data.translation import is_paired
from artifex_keras.data.translation import list_translation_datasets
from artifex_keras.data.translation import load_translation
from artifex_keras.images import MAX_POINT_FEATURES
from artifex_keras.metrics import cas as cas_metric
from artifex_keras.metrics.distances import energy_distance
from artifex_keras.metrics.distances import mmd
from artifex_keras.metrics.distances import sliced_wasserstein
from artifex_keras.metrics.extractors import default_extractor
from artifex_keras.metrics.extractors import feature_extractor
from artifex_keras.metrics.generated import GENERATION_BLOCK
from artifex_keras.metrics.generated import generated_batches
from artifex_keras.metrics.generated import to_unit_range
from artifex_keras.metrics.image_similarity import psnr
from artifex_keras.metrics.inception_score import inception_score
from artifex_keras.metrics.likelihood import bits_per_dim
from artifex_keras.metrics.sample_quality import INCEPTION_SCORE_SPLITS
from artifex_keras.metrics.sample_quality import MIN_SAMPLES
from artifex_keras.metrics.sample_quality import sample_quality

# k of the importance-weighted bound: 1000 is the paper's choice, 100 keeps a
# 10000-image test split within minutes on a CPU.
DEFAULT_IWAE_SAMPLES = 100
DEFAULT_BATCH_SIZE = 256
# Most samples the point metrics (pairwise distances) compare.
POINT_SAMPLES = 5000
# Real features and floors already computed in this process (see the module docstring).
_REAL_FEATURES = {}
_FLOORS = {}


def _negative_elbo(model, x, labels, settings):
    """Mean negative ELBO, an upper bound on `-log p(x)`."""
    nats = _per_example(lambda xb, kwargs: -_numpy(model.elbo(xb, **kwargs)), x, labels, settings["batch_size"])
    return _nats_and_bits("neg_elbo", nats, model)


def _iwae_nll(model, x, labels, settings):
    """Mean importance-weighted bound on `-log p(x)` with `iwae_samples` samples (Burda et al., 2016)."""
    k = settings["iwae_samples"]
    nats = _per_example(
        lambda xb, kwargs: _numpy(model.nll(xb, num_samples=k, **kwargs)), x, labels, settings["batch_size"]
    )
    return {**_nats_and_bits("iwae_nll", nats, model), "iwae_num_samples": k}


def _exact_nll(model, x, labels, settings):
    """Mean exact `-log p(x)` of models with a tractable likelihood (flows, autoregressive models).

    `model.log_prob(x)` returns one log-likelihood in nats per example. Its
    bits/dim are discrete when the model sets `dequantization_scale` (the
    `data_scale` of `bits_per_dim`: how its continuous inputs relate to the
    8-bit data); without it the likelihood is taken as already discrete.
    """
    nats = _per_example(lambda xb, kwargs: -_numpy(model.log_prob(xb, **kwargs)), x, labels, settings["batch_size"])
    mean = float(np.mean(nats))
    scale = getattr(model, "dequantization_scale", None)
    return {
        "nll_nats": mean,
        "nll_bits_per_dim": float(bits_per_dim(mean, math.prod(model.data_shape), data_scale=scale)),
        "nll_dequantization_scale": scale,
    }


def _point_sample_quality(model, x, labels, settings):
    """Energy distance, MMD² and sliced Wasserstein distance of samples of a vector model to the split, with floors.

    The floor compares the split with as many examples of the other split.
    """
    num_samples = min(settings["num_samples"] or len(x), POINT_SAMPLES)
    conditions = _generation_conditions(model, labels, num_samples)
    batches = generated_batches(
        model, num_samples, seed=settings["seed"], conditions=conditions, sampler=settings["sampler"], images=False
    )
    samples = np.concatenate(list(batches))
    reference = x[:num_samples]
    other = "test" if settings["split"] == "train" else "train"
    real = datasets.load(settings["data"], split=other, scale=data_scale(model), with_labels=False, limit=num_samples)

    def distances(points):
        return {
            "energy_distance": energy_distance(points, reference),
            "mmd": mmd(points, reference),
            "sliced_wasserstein": sliced_wasserstein(points, reference, seed=settings["seed"]),
        }

    return {
        **({} if settings["sampler"] is None else {"sampler": samplers.serialize(settings["sampler"])}),
        "num_samples": num_samples,
        "seed": settings["seed"],
        **distances(samples),
        "floor": {"reference_split": other, "num_examples": int(len(real)), **distances(real)},
    }


def _sample_quality(model, x, labels, settings):
    """FD, KID, precision/recall, density/coverage, IS (and CAS) of `num_samples` samples, with floors."""
    if len(tuple(model.data_shape)) == 1:
        return _point_sample_quality(model, x, labels, settings)
    extractor = settings["extractor"]
    reference = _real_features(settings, extractor, settings["split"], settings["limit"])
    num_samples = settings["num_samples"] or len(x)
    if num_samples < MIN_SAMPLES:
        raise ValueError(
            f"evaluate_model: `num_samples` must be at least {MIN_SAMPLES} for the sample metrics, got {num_samples}"
        )
    conditions = _generation_conditions(model, labels, num_samples, settings["sources"])
    features, probabilities = [], []
    batches = generated_batches(
        model, num_samples, seed=settings["seed"], conditions=conditions, sampler=settings["sampler"]
    )
    for images in batches:
        block_features, block_probabilities = extractor.extract(images, batch_size=settings["batch_size"])
        features.append(block_features)
        if block_probabilities is not None:
            probabilities.append(block_probabilities)
    values = sample_quality(
        reference["features"],
        np.concatenate(features),
        np.concatenate(probabilities) if probabilities else None,
        seed=settings["seed"],
    )
    result = {
        **({} if settings["sampler"] is None else {"sampler": samplers.serialize(settings["sampler"])}),
        "extractor": extractor.name,
        "feature_dim": int(reference["features"].shape[1]),
        "num_samples": num_samples,
        "seed": settings["seed"],
        "generation_block": GENERATION_BLOCK,
        **values,
        "floor": _floor(settings, extractor, reference, num_samples),
    }
    if settings["cas"] is not None and labels is not None:
        result.update(_cas(model, settings, result["floor"]))
    return result


def _generation_conditions(model, labels, num_samples, sources=None):
    """What a conditional model generates from: class-conditional models draw the evaluated split's
    labels (cycled), so both sides share one class balance; image-to-image models translate the split's
    first `num_samples` source images; others take the model's example conditions."""
    spec = _ask(model, "condition_spec")
    if spec is None:
        return None
    if isinstance(spec, ClassLabels) and labels is not None:
        return {spec.argument: np.resize(labels, num_samples)}
    if isinstance(spec, SourceImages) and sources is not None:
        if num_samples > len(sources):
            raise ValueError(
                f"evaluate_model: `num_samples` can be at most the {len(sources)} source images of the split "
                f"(each sample translates one), got {num_samples}"
            )
        return {spec.argument: sources[:num_samples]}
    return model.example_conditions(num_samples)


def _translation_error(model, x, labels, settings):
    """Mean L1 distance and PSNR (dB, averaged over images) of each translation to its target, in [0, 1].

    Only paired tasks have a target per source; unpaired ones get `{}`.
    """
    if not is_paired(settings["data"]):
        return {}
    translated = model.translate(settings["sources"], batch_size=settings["batch_size"])
    translated = to_unit_range(translated, model.data_range)
    targets = to_unit_range(x, model.data_range)
    return {
        "l1": float(np.mean(np.abs(translated.astype(np.float64) - targets))),
        "psnr": float(np.mean(psnr(translated, targets, max_value=1.0))),
    }


def _accuracy(model, x, labels, settings):
    """Test accuracy of a classifier (the feature-extractor presets)."""
    probabilities = model.predict_proba(x, batch_size=settings["batch_size"])
    return {"accuracy": float(np.mean(np.argmax(probabilities, axis=-1) == labels))}


METRICS = {
    "log_prob": _exact_nll,
    "elbo": _negative_elbo,
    "nll": _iwae_nll,
    "translate": _translation_error,
    "generate": _sample_quality,
    "predict_proba": _accuracy,
}


def available_metrics(model):
    """Capabilities in `METRICS` that `model` has, in `METRICS` order.

    `"generate"` counts for models of images `(height, width, channels)` and of points `(features,)`
    with at most `MAX_POINT_FEATURES` features; `"translate"` for models conditioned on `SourceImages`.

    Example:
    ```python
    available_metrics(ak.models.VAE(input_shape=(8, 8, 1)))   # ['elbo', 'nll', 'generate']
    ```
    """
    found = []
    for capability in METRICS:
        if not callable(getattr(model, capability, None)):
            continue
        shape = tuple(getattr(model, "data_shape", ()))
        points = len(shape) == 1 and shape[0] <= MAX_POINT_FEATURES
        if capability == "generate" and not (len(shape) == 3 or points):
            continue
        if capability == "translate" and not isinstance(_ask(model, "condition_spec"), SourceImages):
            continue
        found.append(capability)
    return found


def data_scale(model):
    """The `scale` of `artifex_keras.data.load` that matches `model.data_range`.

    Example:
    ```python
    x = ak.data.load("digits", scale=data_scale(model), with_labels=False)
    ```
    """
    data_range = getattr(model, "data_range", None)
    return "symmetric" if data_range is not None and tuple(data_range) == (-1.0, 1.0) else "unit"


def evaluate_model(
    model,
    data="fashion_mnist",
    split="test",
    limit=None,
    num_samples=None,
    batch_size=DEFAULT_BATCH_SIZE,
    *,
    iwae_samples=None,
    extractor=None,
    seed=0,
    cas=False,
    sampler=None,
    capabilities=None,
):
    """Held-out metrics of `model` on a dataset split, as a JSON-ready dict.

    Runs every metric in `METRICS` the model supports:

    - `log_prob` (flows, autoregressive models): `nll_nats`, `nll_bits_per_dim`
      (with the dequantisation correction, see `_exact_nll`);
    - `elbo`: `neg_elbo_nats` and `neg_elbo_bits_per_dim` (`nats / (D ln 2)`,
      `D` the number of values in one example);
    - `nll`: `iwae_nll_nats`, `iwae_nll_bits_per_dim` with `iwae_num_samples`;
    - `generate` (point models, `(features,)`): `energy_distance`, `mmd`
      (RBF, median bandwidths) and `sliced_wasserstein` of at most
      `POINT_SAMPLES` samples to as many examples of the split, with the same
      between the two real splits as `floor`;
    - `generate` (image models): `num_samples` samples drawn in blocks of
      `GENERATION_BLOCK` with seeds derived from `seed` (so the values do not
      depend on `batch_size`), mapped to [0, 1] and clipped, measured against
      the evaluated split in the extractor's feature space: `fd`, `kid` and
      `kid_std_error`, `precision`, `recall`, `density`, `coverage`, and
      `inception_score` (`inception_score_std`) when the extractor is a
      classifier; `floor` holds the same metrics for real data (see the
      module docstring) with its `reference_split` and `num_examples`. With
      `cas=True`, conditional models also get `cas` (the floor's `cas` is the
      real-data baseline), see `classification_accuracy_score`;
    - `predict_proba` (classifiers): `accuracy`;
    - image-to-image models on a translation task: `compared` says what was
      compared; `translate` (paired tasks): `l1` (mean absolute error) and
      `psnr` (dB, mean over images) of each translation against its target,
      both in [0, 1]; `generate`: the image metrics above with the
      translations of the first `num_samples` sources as the samples (A -> B
      for `CycleGAN`), measured against the split's real target-domain
      images (B), with the other split's real target-domain images as the
      floor, in the feature space of the task's base dataset's classifier.

    Images are scaled to the model's `data_range` ([-1, 1] or [0, 1]);
    conditional models and classifiers get the labels, and conditional
    models generate with the split's labels cycled to `num_samples`.

    Args:
        model: a trained `GenerativeModel` (or an `ImageClassifier`).
        data: dataset name for `artifex_keras.data.load`, or a translation
            task of `artifex_keras.data.list_translation_datasets()` (for,
            and only for, models conditioned on `SourceImages`).
        split: `"train"`, `"test"` or `"all"`.
        limit: evaluate on the first `limit` examples only.
        num_samples: generated samples for the sample metrics (default: as
            many as the evaluated examples; at least 10; for translations at
            most the number of source images).
        batch_size: examples per call to the model and the extractor.
        iwae_samples: importance samples `k` of the IWAE bound (default 100).
        extractor: the feature space: a classifier preset name or directory,
            a `keras.Model`, or a `FeatureExtractor` (see
            `artifex_keras.metrics.feature_extractor`); default: the shipped
            classifier for `data`.
        seed: seed of the generated samples and of KID's subsets.
        cas: also compute the Classification Accuracy Score for conditional
            models (trains two classifiers): True for the defaults, or a dict
            of `classification_accuracy_score` options (`num_per_class`,
            `epochs`, `batch_size`, `classifier_factory`).
        sampler: the sampler the samples are drawn with (a `Sampler`, its
            name or config; None: the model's default).
        capabilities: run only these entries of `METRICS` (default: all the model has).

    Returns:
        dict with `data`, `split`, `num_examples`, the metrics, and `seconds`.

    Example:
    ```python
    metrics = evaluate_model(model, data="digits", num_samples=1000, iwae_samples=50)
    metrics["neg_elbo_bits_per_dim"], metrics["fd"], metrics["floor"]["fd"]
    ```
    """
    owner = "evaluate_model"
    if data in list_text_datasets():
        return language_model_metrics(model, data, split, limit=limit, batch_size=batch_size)
    found = available_metrics(model)
    if capabilities is not None:
        unknown = sorted(set(capabilities) - set(METRICS))
        if unknown:
            raise ValueError(
                f"{owner}: `capabilities` must name entries of METRICS ({', '.join(METRICS)}), got {unknown[0]!r}"
            )
        found = [capability for capability in found if capability in capabilities]
    if not found:
        raise ValueError(
            f"{owner}: no held-out metric fits {type(model).__name__}; "
            f"it needs one of the methods {', '.join(capabilities if capabilities is not None else METRICS)}"
        )
    if num_samples is not None:
        num_samples = validation.check_positive_int(owner, "num_samples", num_samples)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"{owner}: `seed` must be a non-negative int, got {seed!r}")
    settings = {
        "data": data,
        "split": split,
        "limit": limit,
        "num_samples": num_samples,
        "iwae_samples": validation.check_positive_int(
            owner, "iwae_samples", DEFAULT_IWAE_SAMPLES if iwae_samples is None else iwae_samples
        ),
        "batch_size": validation.check_positive_int(owner, "batch_size", batch_size),
        "seed": int(seed),
        "cas": _cas_options(owner, cas),
        "sampler": None,
    }
    start = time.perf_counter()
    translation = translation_task(owner, model, data)
    if translation:
        settings["sources"], x = load_translation(data, split=split, scale=data_scale(model), limit=limit)
        y = None
        _check_shape(owner, model, "source images", model.condition_spec().shape, settings["sources"], data)
    else:
        settings["sources"] = None
        x, y = datasets.load(data, split=split, scale=data_scale(model), with_labels=True, limit=limit)
    _check_shape(owner, model, "target images" if translation else "examples", model.data_shape, x, data)
    if "generate" in found:
        if len(tuple(model.data_shape)) == 3:
            default = default_extractor(base_dataset(data) if translation else data)
            settings["extractor"] = default if extractor is None else feature_extractor(extractor)
        settings["sampler"] = _sampler(owner, model, sampler)
    labels = y if _ask(model, "label_spec") is not None else None
    result = {"data": data, "split": split, "num_examples": int(len(x))}
    if translation:
        result["compared"] = _compared(data, split)
    for capability in found:
        result.update(METRICS[capability](model, x, labels, settings))
    result["seconds"] = round(time.perf_counter() - start, 3)
    return result


def language_model_metrics(model, data, split="validation", limit=None, batch_size=DEFAULT_BATCH_SIZE):
    """Cross entropy of a language model on a text corpus's split, every token after the first scored once.

    Text corpora hold out whole works as their `"validation"` split, which
    `split="test"` also names. Returns `nll_nats_per_token`, `bits_per_token`,
    `perplexity` and the tokenizer-independent `bits_per_character`, with
    the counts of scored tokens and characters.

    Args:
        model: a model with `text_nll` (`TransformerLM`).
        data: one of `artifex_keras.data.list_text_datasets()`.
        split: `"validation"` (or `"test"`), `"train"` or `"all"`.
        limit: score only the first `limit` characters of the split.
        batch_size: windows per call to the model.

    Example:
    ```python
    language_model_metrics(ak.from_preset("transformer_shakespeare_char"), "shakespeare")["bits_per_character"]
    ```
    """
    owner = "evaluate_model"
    if not callable(getattr(model, "text_nll", None)):
        raise ValueError(
            f"{owner}: {data!r} is a text corpus, evaluated for language models (models with `text_nll`, "
            f"such as TransformerLM), got a {type(model).__name__}"
        )
    split = "validation" if split == "test" else split
    start = time.perf_counter()
    text = load_text(data, split)
    if limit is not None:
        text = text[: validation.check_positive_int(owner, "limit", limit)]
    nats, tokens, characters = model.text_nll(text, validation.check_positive_int(owner, "batch_size", batch_size))
    return {
        "data": data,
        "split": split,
        "num_tokens": int(tokens),
        "num_characters": int(characters),
        "nll_nats_per_token": nats / tokens,
        "bits_per_token": nats / tokens / math.log(2.0),
        "perplexity": math.exp(nats / tokens),
        "bits_per_character": nats / characters / math.log(2.0),
        "seconds": round(time.perf_counter() - start, 3),
    }


def translation_task(owner, model, data):
    """Whether `data` is a translation task; a clear error when it does not fit the model.

    Models conditioned on `SourceImages` (image-to-image models) need a
    translation task of `list_translation_datasets()`, and only they take one.

    Example:
    ```python
    translation_task("train_preset", pix2pix, "fashion_mnist_edges")   # True
    ```
    """
    tasks = list_translation_datasets()
    translates = isinstance(_ask(model, "condition_spec"), SourceImages)
    if data in tasks and not translates:
        raise ValueError(
            f"{owner}: {data!r} is an image-to-image translation task (pairs of source and target images), "
            f"but {type(model).__name__} does not take source images; train a translation model on it "
            "(pix2pix for a paired task, cyclegan for an unpaired one), or pick one of the image datasets"
        )
    if translates and data not in tasks:
        raise ValueError(
            f"{owner}: {type(model).__name__} translates source images and needs a translation task "
            f"({', '.join(tasks)}), got dataset {data!r}"
        )
    return data in tasks


def _check_shape(owner, model, what, expected, images, data):
    if tuple(images.shape[1:]) != tuple(expected):
        raise ValueError(
            f"{owner}: {type(model).__name__} takes {what} of shape {tuple(expected)}, "
            f"got {tuple(images.shape[1:])} from dataset {data!r}"
        )


def _compared(data, split):
    if is_paired(data):
        return (
            f"translations of the {split} split's source images vs its real target images "
            "(l1, psnr: each against its own target; sample metrics: as sets)"
        )
    return f"translations A -> B of the {split} split's domain-A images vs its real domain-B images (as sets)"


def _real_images(data, split, limit):
    """A split's real images in [0, 1] and labels: for a translation task, its target-domain images (no labels)."""
    if data in list_translation_datasets():
        return load_translation(data, split=split, limit=limit)[1], None
    return datasets.load(data, split=split, scale="unit", with_labels=True, limit=limit)


def _ask(model, method):
    """`model.method()`, or None for models without it (any object with `elbo`, `log_prob`, ... is evaluated)."""
    return getattr(model, method)() if callable(getattr(model, method, None)) else None


def _sampler(owner, model, sampler):
    if callable(getattr(model, "resolve_sampler", None)):
        return model.resolve_sampler(owner, sampler)
    if sampler is not None:
        raise ValueError(f"{owner}: {type(model).__name__} takes no `sampler`, got {sampler!r}")
    return None


def _cas_options(owner, cas):
    """None (no CAS), or the keyword arguments of `classification_accuracy_score` to run it with."""
    if cas is False or cas is None:
        return None
    if cas is True:
        return {}
    allowed = ("num_per_class", "epochs", "batch_size", "classifier_factory")
    if not isinstance(cas, dict) or set(cas) - set(allowed):
        raise ValueError(f"{owner}: `cas` must be a bool or a dict with keys among {', '.join(allowed)}, got {cas!r}")
    return dict(cas)


def clear_cache():
    """Forget the real features and floors computed so far in this process."""
    _REAL_FEATURES.clear()
    _FLOORS.clear()


# Sample metrics helpers ---------------------------------------------------------
def _real_features(settings, extractor, split, limit):
    """`{"features", "probabilities", "x", "y"}` of a split in [0, 1], cached per (data, split, limit, extractor)."""
    key = (settings["data"], split, limit, extractor.key)
    if key not in _REAL_FEATURES:
        x, y = _real_images(settings["data"], split, limit)
        if len(x) < MIN_SAMPLES:
            raise ValueError(
                f"evaluate_model: the sample metrics need at least {MIN_SAMPLES} real examples, "
                f"got {len(x)} from split {split!r} of {settings['data']!r} (limit={limit})"
            )
        features, probabilities = extractor.extract(x, batch_size=settings["batch_size"])
        # The extractor is kept too, so an id-based key cannot be reused by another object.
        _REAL_FEATURES[key] = {
            "features": features,
            "probabilities": probabilities,
            "x": x,
            "y": y,
            "extractor": extractor,
        }
    return _REAL_FEATURES[key]


def _floor(settings, extractor, reference, num_samples):
    """The sample metrics of real data: the evaluated split against `num_samples` examples of another split."""
    other = "test" if settings["split"] == "train" else "train"
    key = (settings["data"], settings["split"], settings["limit"], extractor.key, num_samples, settings["seed"])
    if key not in _FLOORS:
        real = _real_features(settings, extractor, other, num_samples)  # the first `num_samples` examples
        count = len(real["features"])
        values = sample_quality(reference["features"], real["features"], seed=settings["seed"])
        if reference["probabilities"] is not None:
            values.update(_real_inception_score(reference["probabilities"]))
        _FLOORS[key] = {"reference_split": other, "num_examples": count, **values}
    return dict(_FLOORS[key])


def _real_inception_score(probabilities):
    score, spread = inception_score(probabilities, num_splits=INCEPTION_SCORE_SPLITS)
    return {"inception_score": score, "inception_score_std": spread}


def _cas(model, settings, floor):
    """CAS of a conditional model on the evaluated split; its real-data baseline goes to the floor."""
    options = {
        "num_per_class": cas_metric.DEFAULT_NUM_PER_CLASS,
        "epochs": cas_metric.DEFAULT_EPOCHS,
        "seed": settings["seed"],
        **settings["cas"],
    }
    test = _real_features(settings, settings["extractor"], settings["split"], settings["limit"])
    train = datasets.load(settings["data"], split=floor["reference_split"], scale="unit", with_labels=True)
    score, real = cas_metric.classification_accuracy_score(
        model, test["x"], test["y"], real_train=train, sampler=settings["sampler"], **options
    )
    floor["cas"] = real
    return {"cas": score, "cas_num_per_class": options["num_per_class"], "cas_epochs": options["epochs"]}


# Likelihood helpers -------------------------------------------------------------
def _per_example(fn, x, labels, batch_size):
    """Concatenate `fn(x_batch, {"labels": ...})` over batches into one value per example.

    The last batch is padded (by repeating its last example) to the size of
    the others, so every call sees one shape and compiled backends trace once.
    """
    batch_size = min(batch_size, len(x))
    values = []
    for start in range(0, len(x), batch_size):
        count = min(batch_size, len(x) - start)
        kwargs = {} if labels is None else {"labels": _pad(labels[start : start + count], batch_size)}
        batch_values = np.reshape(fn(_pad(x[start : start + count], batch_size), kwargs), (-1,))
        if len(batch_values) != batch_size:
            raise ValueError(f"evaluate_model: expected one value per example ({batch_size}), got {len(batch_values)}")
        values.append(batch_values[:count])
    return np.concatenate(values)


def _pad(array, size):
    return np.concatenate([array, np.repeat(array[-1:], size - len(array), axis=0)]) if len(array) < size else array


def _nats_and_bits(name, nats, model):
    mean = float(np.mean(nats))
    dims = math.prod(model.data_shape)
    return {f"{name}_nats": mean, f"{name}_bits_per_dim": mean / (dims * math.log(2.0))}


def _numpy(values):
    return np.asarray(keras.ops.convert_to_numpy(values), dtype=np.float64)
