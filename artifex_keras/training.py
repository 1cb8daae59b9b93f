"""Train a preset or a registered model and record how: the work behind `artifex-keras train`.

`train_preset` writes a preset whose `metadata.json` says what ran (the
command line or Python call), with which settings, versions and device, how
long it took and what it measured on held-out data, so a Python user gets
the same record as the command line.

Example:
```python
import artifex_keras as ak
run = ak.train_preset("vae", "runs/vae_digits", data="digits", epochs=30,
                      overrides={"latent_dim": 8, "hidden_dims": (128,)})
run.metrics["neg_elbo_nats"], run.directory
gan_run = ak.train_preset("my_gan_preset/", "runs/gan", learning_rate={"generator": 1e-4})
edges_run = ak.train_preset("pix2pix", "runs/pix2pix_edges", data="fashion_mnist_edges", epochs=5)
edges_run.metrics["l1"], edges_run.metrics["fd"], edges_run.metrics["floor"]["fd"]
```
"""

import dataclasses
import difflib
import importlib
import json
import os
import pathlib
import platform
import shlex
import sys
import time

import keras
import numpy as np

import artifex_keras
from artifex_keras import data as datasets
from artifex_keras import presets
from artifex_keras import registry
from artifex_keras import validation
from artifex_keras.backend import device_name
from artifex_keras.backend import seed_everything
from artifex_keras.callbacks import GRID_SAMPLES
from artifex_keras.callbacks import SampleGrid
from artifex_keras.callbacks import TimeLimit
from artifex_keras.callbacks import save_samples
from artifex_keras.data.text import list_text_datasets
from artifex_keras.data.translation import is_paired
from artifex_keras.data.translation import list_translation_datasets
from artifex_keras.data.translation import load_translation
from artifex_keras.evaluation import available_metrics
from artifex_keras.evaluation import data_scale
from artifex_keras.evaluation import evaluate_model
from artifex_keras.evaluation import translation_task
from artifex_keras.tokenizers import CharacterTokenizer

# Used when neither the caller nor the preset's metadata.json "training" section sets them.
TRAINING_DEFAULTS = {"data": "fashion_mnist", "epochs": 10, "batch_size": 128}
SAMPLES_FILE = "samples.png"
METRICS_FILE = "metrics.json"
SAMPLES_DIR = "samples"
# Held-out metrics training records: likelihoods, or accuracy for classifiers. The sample
# metrics are left to `evaluate` (they need the dataset's feature-extractor preset).
TRAIN_METRICS = ("log_prob", "elbo", "nll", "predict_proba")
# Image-to-image models record the metrics of their translations of the test sources: L1 and
# PSNR (paired tasks) and the sample metrics against the real target-domain test images.
TRANSLATION_METRICS = ("translate", "generate")


@dataclasses.dataclass(frozen=True)
class TrainingRun:
    """What `train_preset` made: the trained model, its preset directory, held-out metrics, metadata and samples.

    `samples` is the sample file written (a PNG grid, a language model's
    text), or None.
    """

    model: keras.Model
    directory: pathlib.Path
    metrics: dict
    metadata: dict
    samples: pathlib.Path | None = None


def train_preset(
    source,
    output,
    *,
    data=None,
    epochs=None,
    batch_size=None,
    learning_rate=None,
    overrides=None,
    seed=0,
    limit=None,
    resume=False,
    sample_every=None,
    iwae_samples=None,
    backup_dir=None,
    time_limit=None,
    teacher=None,
    description=None,
    command=None,
    verbose="auto",
):
    """Train a preset's architecture (or a registered model) and save it as a preset with its provenance.

    Args:
        source: a shipped preset name, a preset directory, or a registered
            model name (see `list_models()`).
        output: the preset directory to write (config, metadata, weights,
            `samples.png` for generative models, `metrics.json`).
        data: dataset name for `artifex_keras.data.load`, or for image-to-image
            models (`pix2pix`, `cyclegan`) a translation task of
            `artifex_keras.data.list_translation_datasets()` (they train on
            `fit(sources, targets)` / `fit(a, b)` and record `l1`/`psnr` and
            the sample metrics of their test translations); epochs,
            batch_size: the training loop. Each defaults to the source preset's
            `metadata.json` "training" section, else `TRAINING_DEFAULTS`.
        learning_rate: None (the family's default optimizers), a number (every
            phase), or a dict of numbers by phase name (other phases keep
            their default); the phases' default optimizers are used with
            these learning rates.
        overrides: config fields to change (`{"latent_dim": 8}`).
        seed: seed of Keras' global random state and of the sample grids.
        limit: train on the first `limit` examples only.
        resume: start from the preset's trained weights.
        sample_every: also save a sample grid every N epochs to `output/samples/`.
        iwae_samples: importance samples of the held-out IWAE bound.
        backup_dir: a `keras.callbacks.BackupAndRestore` directory: an
            interrupted run started again with the same arguments continues
            from its last finished epoch.
        time_limit: seconds; training stops at the end of the first epoch
            that ends after them (`epochs` is then an upper bound, and the
            metadata records the epochs trained).
        teacher: a preset (name or directory) of the trained model that a
            distilling model learns from (`consistency_model` with
            `mode="distillation"`); it is frozen and not saved with the output.
            A new student with `parameterization="variance_preserving"` takes
            the teacher's architecture (unless `overrides` set it) and starts
            from the teacher's weights.
        description: one line for the metadata (default: the source's).
        command: the command recorded as having run (default: this
            process's command line).
        verbose: `fit`'s verbosity ("auto": a progress bar on a terminal,
            one line per epoch otherwise).

    Returns:
        a `TrainingRun`.
    """
    owner = "train_preset"
    kind, cls, source_dir = resolve_source(source)
    source_metadata = presets.preset_metadata(source_dir) if source_dir is not None else {}
    overrides = dict(overrides or {})
    if resume and (source_dir is None or not (source_dir / presets.WEIGHTS_FILE).is_file()):
        raise ValueError(
            f"{owner}: `resume` needs a preset with trained weights ({presets.WEIGHTS_FILE}), got {source!r}"
        )
    recorded = source_metadata.get("training", {})
    given = {"data": data, "epochs": epochs, "batch_size": batch_size}
    settings = {key: given[key] if given[key] is not None else recorded.get(key, default)
                for key, default in TRAINING_DEFAULTS.items()}  # fmt: skip
    settings["epochs"] = validation.check_positive_int(owner, "epochs", settings["epochs"])
    settings["batch_size"] = validation.check_positive_int(owner, "batch_size", settings["batch_size"])
    seed = validation.check_non_negative_int(owner, "seed", seed)
    seed_everything(seed)

    teacher_model = None if teacher is None else presets.load_preset(teacher)
    if teacher_model is not None and kind == "model" and callable(getattr(cls, "fields_from_teacher", None)):
        # A student that starts from its teacher's weights takes the teacher's architecture unless told otherwise.
        overrides = {**cls.fields_from_teacher(teacher_model, overrides, owner), **overrides}
    if settings["data"] in list_text_datasets():
        model, x = _language_model_and_windows(owner, source, kind, cls, source_dir, overrides, resume, settings, limit)
        y, translation, grid_data = None, False, {}
    else:
        model, x, y, translation, grid_data = _model_and_examples(
            owner, source, kind, cls, source_dir, overrides, resume, settings, limit
        )

    if teacher is not None:
        if not callable(getattr(model, "set_teacher", None)):
            raise ValueError(
                f"{owner}: `teacher` is for models that distill a trained model (consistency_model), "
                f"got {type(model).__name__}"
            )
        # A new student whose network reads like its teacher's starts from the teacher's weights.
        model.set_teacher(teacher_model, copy_weights=not resume and model.starts_from_teacher)
    output = pathlib.Path(output)
    optimizers = optimizers_with_learning_rates(model, learning_rate, owner=owner)
    model.compile(optimizer=optimizers if len(optimizers) > 1 else next(iter(optimizers.values())))
    callbacks = []
    if sample_every is not None:
        if not callable(getattr(model, "generate", None)):
            raise ValueError(f"{owner}: `sample_every` needs a generative model, got a {type(model).__name__}")
        callbacks.append(SampleGrid(output / SAMPLES_DIR, every_n_epochs=sample_every, seed=seed, **grid_data))
    if backup_dir is not None:
        callbacks.append(keras.callbacks.BackupAndRestore(str(backup_dir)))
    if time_limit is not None:
        callbacks.append(TimeLimit(validation.check_positive_number(owner, "time_limit", time_limit)))
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    start = time.perf_counter()
    history = model.fit(
        x, y, epochs=settings["epochs"], batch_size=settings["batch_size"], verbose=verbose, callbacks=callbacks
    )
    train_seconds = time.perf_counter() - start
    epochs_run = len(history.epoch) or settings["epochs"]
    if time_limit is not None and history.epoch:
        settings["epochs"] = history.epoch[-1] + 1  # what was trained, counting epochs restored from a backup
    timing = {
        "train_seconds": round(train_seconds, 3),
        "seconds_per_epoch": round(train_seconds / epochs_run, 3),
    }

    metrics = {}
    recorded_metrics = TRANSLATION_METRICS if translation else TRAIN_METRICS
    if settings["data"] in list_text_datasets():
        metrics = evaluate_model(model, data=settings["data"], split="validation")
    elif any(capability in recorded_metrics for capability in available_metrics(model)):
        metrics = evaluate_model(
            model, data=settings["data"], split="test", iwae_samples=iwae_samples, capabilities=recorded_metrics
        )
    learning_rates = {name: _learning_rate(optimizer) for name, optimizer in optimizers.items()}
    training = {**settings, "learning_rates": learning_rates, "seed": seed, "limit": limit}
    if time_limit is not None:
        training["time_limit"] = time_limit
    if teacher is not None:
        training["teacher"] = str(teacher)
    if resume:
        training["resumed_from"] = str(source_dir)
    description = description or source_metadata.get("description") or (
        f"{type(model).__name__} trained on {settings['data']} for {settings['epochs']} epochs with artifex-keras"
    )
    metadata = {
        "description": description,
        "family": model.family,
        "training": training,
        "command": command or invocation(),
        **environment(),
        "trained_on": device_name(),
        **timing,
        "metrics": metrics,
    }
    model.save_to_preset(output, metadata=metadata)
    samples = None
    if callable(getattr(model, "generate", None)):
        samples = save_samples(model, output / SAMPLES_FILE, seed=seed, **grid_data)
    (output / METRICS_FILE).write_text(_json({**metrics, **timing}))
    metadata = presets.preset_metadata(output)
    return TrainingRun(model=model, directory=output, metrics=metrics, metadata=metadata, samples=samples)


def _model_and_examples(owner, source, kind, cls, source_dir, overrides, resume, settings, limit):
    """The model to train and `(model, x, y, translation, grid_data)` of a dataset or translation task."""
    first, second = _training_data(settings["data"], limit=1)
    data_shape = tuple(first.shape[1:])  # the examples, or a translation task's source images
    if kind == "model" and "input_shape" not in overrides:
        overrides["input_shape"] = data_shape
    try:
        if kind == "preset":
            model = presets.load_preset(source_dir, load_weights=resume, **overrides)
        else:
            model = cls(**overrides)
    except ValueError:
        # A model given the wrong kind of data may fail on the data's shape first: say what does not fit instead.
        if kind == "model":
            translation_task(owner, _default_model(cls), settings["data"])
        raise
    translation = translation_task(owner, model, settings["data"])
    if translation:
        what = "(source, target) images"
        taken = (tuple(model.condition_spec().shape), tuple(model.data_shape))
        given = (data_shape, tuple(second.shape[1:]))
    else:
        what, taken, given = "examples", tuple(model.data_shape), data_shape
    if taken != given:
        raise ValueError(
            f"{owner}: {source!r} takes {what} of shape {taken}, but data {settings['data']!r} "
            f"has shape {given}; pick matching data or override input_shape={list(data_shape)}"
        )
    x, y = _training_data(settings["data"], scale=data_scale(model), limit=limit)
    y = y if translation or model.label_spec() is not None else None
    # Image-to-image models show real test sources beside their translations (and a paired task's targets).
    grid_data = {}
    if translation:
        sources, targets = load_translation(settings["data"], split="test", scale=data_scale(model), limit=GRID_SAMPLES)
        grid_data = {"sources": sources, "targets": targets if is_paired(settings["data"]) else None}
    return model, x, y, translation, grid_data


def _language_model_and_windows(owner, source, kind, cls, source_dir, overrides, resume, settings, limit):
    """A language model and the token windows of a text corpus's train split (the first `limit` windows).

    A model trained from its name gets the character tokenizer of the whole
    corpus unless `overrides` names a `tokenizer`.
    """
    corpus = settings["data"]
    if not callable(getattr(cls, "text_nll", None)):
        raise ValueError(
            f"{owner}: data {corpus!r} is a text corpus, which trains language models (transformer_lm), "
            f"not {source!r} ({cls.__name__})"
        )
    if kind == "preset":
        model = presets.load_preset(source_dir, load_weights=resume, **overrides)
    else:
        tokenizer = overrides.pop("tokenizer", None) or CharacterTokenizer.from_text(datasets.load_text(corpus, "all"))
        model = cls(tokenizer=tokenizer, **overrides)
    windows = datasets.text_windows(model.tokenizer.encode(datasets.load_text(corpus, "train")), model.data_shape[0])
    return model, windows if limit is None else windows[: validation.check_positive_int(owner, "limit", limit)]


def _default_model(cls):
    """`cls()` with its default config, or None when that cannot be built."""
    try:
        return cls()
    except (TypeError, ValueError):
        return None


def _training_data(name, scale="unit", limit=None):
    """The train split: `(sources, targets)` or `(a, b)` of a translation task, else `(examples, labels)`."""
    if name in list_translation_datasets():
        return load_translation(name, split="train", scale=scale, limit=limit)
    return datasets.load(name, split="train", scale=scale, limit=limit)


def environment():
    """The backend and the versions that matter for reproducing a run."""
    backend = keras.backend.backend()
    return {
        "backend": backend,
        "versions": {
            "artifex_keras": artifex_keras.__version__,
            "keras": keras.__version__,
            "python": platform.python_version(),
            backend: importlib.import_module(backend).__version__,
        },
    }


def invocation(argv=None):
    """This process's command line as a user would type it again.

    `artifex-keras ...` for the installed command, `python -m artifex_keras
    ...` for the module, `python SCRIPT ...` otherwise; `KERAS_BACKEND` is
    prefixed when it is set.
    """
    argv = sys.argv if argv is None else argv
    program = pathlib.Path(argv[0]).name if argv else "python"
    if program == "artifex-keras":
        words = ["artifex-keras", *argv[1:]]
    elif pathlib.Path(argv[0]).as_posix().endswith("artifex_keras/__main__.py"):
        words = ["python", "-m", "artifex_keras", *argv[1:]]
    else:
        words = ["python", *argv]
    backend = os.environ.get("KERAS_BACKEND")
    return (f"KERAS_BACKEND={backend} " if backend else "") + shlex.join(words)


def resolve_source(source, allow_models=True):
    """`("preset", class, directory)` for a preset, or `("model", class, None)` for a registered model name.

    Unknown names fail with the close matches among shipped presets (and
    model names when `allow_models`).
    """
    text = str(source)
    shipped = presets.list_presets()
    if text in shipped or text.startswith(("hf://", "kaggle://")) or pathlib.Path(text).expanduser().is_dir():
        directory = presets.resolve_preset(text)
        return "preset", presets.preset_class(directory), directory
    models = registry.list_models()
    if text in models:
        if allow_models:
            return "model", registry.get_model_class(text), None
        raise ValueError(
            f"{text!r} is a model name, not a trained preset; train it first (`artifex-keras train {text}`) "
            "and pass the output directory"
        )
    candidates = shipped + (models if allow_models else [])
    close = difflib.get_close_matches(text, candidates, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    available = f"shipped presets: {', '.join(shipped) or '(none)'}" + (
        f"; models: {', '.join(models)}" if allow_models else ""
    )
    what = "preset or model" if allow_models else "preset"
    raise ValueError(f"unknown {what} {text!r}.{hint} Expected a preset directory or one of the {available}")


def optimizers_with_learning_rates(model, learning_rate, owner="optimizers_with_learning_rates"):
    """The model's `default_optimizers()` with `learning_rate` applied: None, a number, or a dict by phase name.

    Example:
    ```python
    gan.compile(optimizer=optimizers_with_learning_rates(gan, {"generator": 1e-4}))
    ```
    """
    optimizers = model.default_optimizers()
    if learning_rate is None:
        return optimizers
    rates = learning_rate if isinstance(learning_rate, dict) else {name: learning_rate for name in optimizers}
    unknown = sorted(set(rates) - set(optimizers))
    if unknown:
        raise ValueError(
            f"{owner}: `learning_rate` keys must be phase names of {type(model).__name__} "
            f"({', '.join(optimizers)}), got {unknown[0]!r}"
        )
    for name, rate in rates.items():
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not np.isfinite(rate) or rate <= 0:
            raise ValueError(f"{owner}: the learning rate of phase {name!r} must be a positive number, got {rate!r}")
        config = optimizers[name].get_config()
        optimizers[name] = type(optimizers[name]).from_config({**config, "learning_rate": float(rate)})
    return optimizers


def _learning_rate(optimizer):
    """The optimizer's learning rate as written (7 significant digits undo the float32 round trip), or its schedule."""
    rate = optimizer.get_config()["learning_rate"]
    return float(f"{rate:.7g}") if isinstance(rate, (int, float, np.floating)) else rate


def _json(values):
    return json.dumps(values, indent=2) + "\n"
