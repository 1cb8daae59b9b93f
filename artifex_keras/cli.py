"""The `artifex-keras` command: list presets and models, train, sample and evaluate.

Example:
```
artifex-keras presets --family vae
artifex-keras models
artifex-keras train vae --data digits --epochs 20 --set latent_dim=2 --set hidden_dims=[128]
artifex-keras sample artifex_output/vae -n 64 --output grid.png
artifex-keras evaluate artifex_output/vae --num-samples 1000 --iwae-samples 100 --output metrics.json
artifex-keras train image_classifier --data digits --epochs 30 --output my_digits_classifier
artifex-keras train pix2pix --data fashion_mnist_edges --epochs 5 --output runs/pix2pix_edges
artifex-keras train cyclegan --data fashion_mnist_sneakers_boots --epochs 5 --output runs/cyclegan
```
The backend is `$KERAS_BACKEND`, JAX when unset.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")


def _quiet_tensorflow():
    """Keep TensorFlow's start-up lines off the terminal: a command line prints only its own.

    Keras imports TensorFlow whenever it is installed (to serialise, to seed),
    and TensorFlow's C++ start-up logs ignore `TF_CPP_MIN_LOG_LEVEL`. On other
    backends TensorFlow computes nothing, so its oneDNN kernels (the source of
    the message) are switched off; on its own backend it is imported here
    with the C++ stderr silenced, its numerics unchanged.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if os.environ["KERAS_BACKEND"] != "tensorflow":
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
        return
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow  # noqa: F401
    except ImportError:
        pass
    finally:
        os.dup2(saved, 2)
        os.close(saved)


_quiet_tensorflow()

import argparse  # noqa: E402
import difflib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import pathlib  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402

import artifex_keras  # noqa: E402
from artifex_keras import data as datasets  # noqa: E402
from artifex_keras import presets  # noqa: E402
from artifex_keras import samplers  # noqa: E402
from artifex_keras.callbacks import GRID_COLUMNS  # noqa: E402
from artifex_keras.callbacks import GRID_SAMPLES  # noqa: E402
from artifex_keras.callbacks import save_samples  # noqa: E402
from artifex_keras.conditioning import ClassLabels  # noqa: E402
from artifex_keras.conditioning import SourceImages  # noqa: E402
from artifex_keras.conditioning import TokenIds  # noqa: E402
from artifex_keras.data.loaders import SPLITS  # noqa: E402
from artifex_keras.data.translation import is_paired  # noqa: E402
from artifex_keras.evaluation import DEFAULT_BATCH_SIZE  # noqa: E402
from artifex_keras.evaluation import DEFAULT_IWAE_SAMPLES  # noqa: E402
from artifex_keras.evaluation import data_scale  # noqa: E402
from artifex_keras.evaluation import evaluate_model  # noqa: E402
from artifex_keras.images import display_range  # noqa: E402
from artifex_keras.images import save_image_grid  # noqa: E402
from artifex_keras.registry import get_model_class  # noqa: E402
from artifex_keras.registry import list_models  # noqa: E402
from artifex_keras.training import METRICS_FILE  # noqa: E402
from artifex_keras.training import SAMPLES_DIR  # noqa: E402
from artifex_keras.training import SAMPLES_FILE  # noqa: E402
from artifex_keras.training import TRAINING_DEFAULTS  # noqa: E402
from artifex_keras.training import invocation  # noqa: E402
from artifex_keras.training import resolve_source  # noqa: E402
from artifex_keras.training import train_preset  # noqa: E402

PROG = "artifex-keras"


class CommandError(Exception):
    """A mistake on the command line: reported as one line on stderr, exit status 2."""


def main(argv=None):
    """Run the `artifex-keras` command with `argv` (default `sys.argv[1:]`); returns the exit status.

    Mistakes (unknown preset or model, bad `--set`, data that does not fit)
    print one line on stderr and return 2.

    Example:
    ```python
    from artifex_keras.cli import main
    main(["train", "vae", "--data", "digits", "--epochs", "1", "--set", "latent_dim=2", "--output", "out/vae"])
    main(["sample", "out/vae", "-n", "16", "--output", "grid.png"])
    ```
    """
    # The command recorded in metadata: this process's command line, or the Python call that ran it.
    command = invocation() if argv is None else f"artifex_keras.cli.main({[str(arg) for arg in argv]!r})"
    argv = sys.argv[1:] if argv is None else [str(arg) for arg in argv]
    try:
        args = _parser().parse_args(argv)
    except SystemExit as stop:  # --help, --version, or a usage error argparse already reported
        return stop.code if isinstance(stop.code, int) else 0
    try:
        args.run(args, command)
    except (CommandError, ValueError, ImportError, datasets.DatasetUnavailableError) as error:
        print(f"{PROG} {args.command}: {error}", file=sys.stderr)
        return 2
    return 0


# Commands ---------------------------------------------------------------------
def _presets_command(args, command):
    if args.family is not None:
        families = _families()
        if args.family not in families:
            raise CommandError(
                f"--family {args.family!r} is not a model family.{_hint(args.family, families)} "
                f"Families: {', '.join(families)}"
            )
    names = artifex_keras.list_presets(family=args.family)
    if not names:
        family = f" of family {args.family!r}" if args.family else ""
        print(f"No shipped presets{family} (looked in {presets.shipped_presets_dir()}).")
        return
    rows = []
    for name in names:
        metadata = presets.preset_metadata(name)
        rows.append((name, metadata.get("family") or "-", metadata.get("description", "")))
    _print_table(rows)


def _models_command(args, command):
    rows = []
    for name in list_models():
        cls = get_model_class(name)
        rows.append((name, cls.family or "-", cls.__name__))
    _print_table(rows)


def _train_command(args, command):
    kind, cls, _ = resolve_source(args.name)
    overrides = _parse_overrides(args.set)
    _check_override_keys(cls, overrides)
    output = pathlib.Path(args.output) if args.output else pathlib.Path("artifex_output") / _short_name(args.name)
    print(f"Training {cls.__name__} from {kind} {args.name!r}")
    run = train_preset(
        args.name,
        output,
        data=args.data,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=_parse_learning_rates(args.learning_rate),
        overrides=overrides,
        seed=args.seed,
        limit=args.limit,
        resume=args.resume,
        sample_every=args.sample_every,
        iwae_samples=args.num_samples,
        backup_dir=args.backup_dir,
        time_limit=args.time_limit,
        teacher=args.teacher,
        description=args.description,
        command=command,
    )
    metadata = run.metadata
    print(
        f"Trained {type(run.model).__name__} ({metadata['parameters']:,} parameters) on {metadata['training']['data']} "
        f"with the {metadata['backend']} backend on {metadata['trained_on']} in {metadata['train_seconds']:.1f} s "
        f"({metadata['seconds_per_epoch']:.2f} s/epoch)"
    )
    if run.metrics:
        shown = [
            f"{k}={v:.4g}"
            for k, v in run.metrics.items()
            if k.endswith(("_nats", "_dim", "accuracy", "_character")) or k in ("l1", "psnr", "fd", "kid")
        ]
        print("Held-out metrics: " + ", ".join(shown))
    print(f"Preset:  {output}/ ({presets.CONFIG_FILE}, {presets.METADATA_FILE}, {presets.WEIGHTS_FILE})")
    if run.samples is not None:
        print(f"Samples: {run.samples}")
    print(f"Metrics: {output / METRICS_FILE}")


def _sample_command(args, command):
    _, _, source = resolve_source(args.preset, allow_models=False)
    model = presets.load_preset(source)
    if not callable(getattr(model, "generate", None)):
        raise CommandError(f"{args.preset!r} holds a {type(model).__name__}, which does not generate samples")
    sampler = _sampler(args)
    spec = model.condition_spec()
    columns = args.columns
    if args.labels is not None and not isinstance(spec, ClassLabels):
        raise CommandError(
            f"--labels needs a class-conditional model, but {args.preset!r} holds a {type(model).__name__} "
            f"conditioned on {spec!r}"
        )
    if isinstance(spec, TokenIds):
        texts = model.generate(args.num_samples, seed=args.seed, sampler=sampler)
        path = pathlib.Path(args.output)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"--- sample {index} ---\n{text}\n" for index, text in enumerate(texts)))
        print(f"Wrote {args.num_samples} texts to {path}")
        return
    if isinstance(spec, SourceImages):
        # Image-to-image models translate real test sources of the task they were trained on.
        task = presets.preset_metadata(source).get("training", {}).get("data")
        if task not in datasets.list_translation_datasets():
            raise CommandError(
                f"{args.preset!r} translates images but its metadata names no translation task to draw sources "
                f"from (training data {task!r})"
            )
        sources, targets = datasets.load_translation(task, split="test", scale=data_scale(model),
                                                     limit=args.num_samples)  # fmt: skip
        path = save_samples(
            model, args.output, num_samples=args.num_samples, columns=columns or GRID_COLUMNS, seed=args.seed,
            sampler=sampler, sources=sources, targets=targets if is_paired(task) else None,
        )  # fmt: skip
        print(f"Wrote the translations of {args.num_samples} {task} test sources to {path}")
        return
    if isinstance(spec, ClassLabels):
        if args.labels is None and columns is None:
            columns = min(spec.num_classes, args.num_samples)  # labels cycle over the classes: one column per class
        chosen = args.labels if args.labels is not None else range(spec.num_classes)
        conditions = {spec.argument: np.resize(np.asarray(chosen), args.num_samples)}
    else:
        conditions = model.example_conditions(args.num_samples)
    samples = model.generate(args.num_samples, seed=args.seed, sampler=sampler, **conditions)
    path = save_image_grid(samples, args.output, columns=columns, value_range=display_range(model))
    print(f"Wrote {args.num_samples} samples to {path}")


def _evaluate_command(args, command):
    _, _, source = resolve_source(args.preset, allow_models=False)
    model = presets.load_preset(source)
    data = args.data or presets.preset_metadata(source).get("training", {}).get("data") or TRAINING_DEFAULTS["data"]
    if args.extractor is not None:
        resolve_source(args.extractor, allow_models=False)  # an unknown name fails here, with the hints
    metrics = evaluate_model(
        model,
        data=data,
        split=args.split,
        limit=args.limit,
        num_samples=args.num_samples,
        batch_size=args.batch_size,
        iwae_samples=args.iwae_samples,
        extractor=args.extractor,
        seed=args.seed,
        cas=args.cas,
        sampler=_sampler(args),
    )
    text = json.dumps(metrics, indent=2)
    print(text)
    if args.output:
        path = pathlib.Path(args.output)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")


# Argument parsing -------------------------------------------------------------
def _parser():
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Train, sample and evaluate artifex_keras generative models "
        "(backend: $KERAS_BACKEND, jax when unset).",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {artifex_keras.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser("presets", help="list the shipped presets")
    listing.add_argument("--family", help="only presets of this model family (e.g. vae)")
    listing.set_defaults(run=_presets_command)

    commands.add_parser("models", help="list the registered model names").set_defaults(run=_models_command)

    train = commands.add_parser(
        "train",
        help="train a preset's architecture or a registered model; write a preset, samples and metrics",
        description="Train from a preset (shipped name or directory; fresh weights unless --resume) or a "
        "registered model name. Defaults come from the preset's metadata.json 'training' section, else "
        + ", ".join(f"{k}={v}" for k, v in TRAINING_DEFAULTS.items())
        + ", the family's default optimizers. Writes the trained preset (its metadata records the command, "
        "training settings, versions, "
        f"timing and test-split metrics: likelihoods, or accuracy for classifiers), {SAMPLES_FILE} "
        f"(generative models: {GRID_SAMPLES} samples; conditional models: one row of {GRID_COLUMNS} per class) "
        f"and {METRICS_FILE}. Models that take labels (conditional models, image_classifier) train on them. "
        "Image-to-image models (pix2pix, cyclegan) train on a translation task (--data fashion_mnist_edges: "
        "paired edge maps -> images; fashion_mnist_sneakers_boots: unpaired domains); they record L1/PSNR "
        "(paired) and FD/KID/precision/recall/density/coverage of their test translations against the real "
        f"target-domain test images, and {SAMPLES_FILE} shows rows of real test sources, their translations "
        "and (paired) the real targets.",
    )
    train.add_argument("name", metavar="PRESET_OR_MODEL", help="shipped preset, preset directory, or model name")
    train.add_argument(
        "--data",
        help="dataset name (see artifex_keras.data.list_datasets()), for pix2pix/cyclegan a translation task "
        f"({', '.join(datasets.list_translation_datasets())}), or for transformer_lm a text corpus "
        f"({', '.join(datasets.list_text_datasets())}: windows of the train split; the validation split's bits "
        "per character are recorded; a model name gets the corpus's character tokenizer)",
    )
    train.add_argument("--epochs", type=_positive(int), help="training epochs")
    train.add_argument("--batch-size", dest="batch_size", type=_positive(int), help="examples per step")
    train.add_argument(
        "--learning-rate", dest="learning_rate", action="append", metavar="[PHASE=]RATE",
        help="learning rate of every phase's default optimizer, or PHASE=RATE for one phase (e.g. "
        "generator=1e-4); repeatable; default: the family's own",
    )
    train.add_argument("--limit", type=_positive(int), help="train on the first N examples only")
    train.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="override a config field; VALUE is JSON (lists become tuples) or a plain string; repeatable",
    )
    train.add_argument("--output", help="output preset directory (default artifex_output/<name>)")
    train.add_argument("--seed", type=_non_negative(int), default=0, help="random seed (default 0)")
    train.add_argument("--num-samples", dest="num_samples", type=_positive(int),
                       help=f"importance samples k of the test-set IWAE bound (default {DEFAULT_IWAE_SAMPLES})")
    train.add_argument("--sample-every", dest="sample_every", type=_positive(int), metavar="N",
                       help=f"also save a sample grid every N epochs to OUTPUT/{SAMPLES_DIR}/epoch_NNNN.png")
    train.add_argument("--resume", action="store_true", help="start from the preset's trained weights")
    train.add_argument("--backup-dir", dest="backup_dir", metavar="DIR",
                       help="back up after every epoch; the same command run again continues an interrupted run")
    train.add_argument("--time-limit", dest="time_limit", type=_positive(float), metavar="SECONDS",
                       help="stop at the end of the first epoch that ends after SECONDS (--epochs is then an "
                       "upper bound; the metadata records the epochs trained)")
    train.add_argument("--teacher", metavar="PRESET_OR_DIR",
                       help="trained preset a distilling model learns from (consistency_model with "
                       "--set mode=distillation; add --set parameterization=variance_preserving to start "
                       "from the teacher's architecture and weights)")
    train.add_argument("--description", help="one line recorded in the preset's metadata")
    train.set_defaults(run=_train_command)

    sample = commands.add_parser(
        "sample",
        help="save a grid of generated samples as a PNG (image-to-image models: rows of real test sources of "
        "their task and their translations; language models: a text file of N texts)",
    )
    sample.add_argument("preset", metavar="PRESET_OR_DIR", help="shipped preset or preset directory")
    sample.add_argument("-n", "--num-samples", dest="num_samples", type=_positive(int), default=GRID_SAMPLES,
                        help=f"number of samples (default {GRID_SAMPLES})")
    sample.add_argument("--seed", type=_non_negative(int), default=0, help="random seed (default 0)")
    sample.add_argument("--labels", type=int, nargs="+",
                        help="class labels for conditional models, cycled to N (default: all classes in turn)")
    sample.add_argument("--columns", type=_positive(int), help="tiles per row of the grid")
    sample.add_argument("--output", required=True, help="PNG file to write (a text file for language models)")
    _add_sampler_arguments(sample)
    sample.set_defaults(run=_sample_command)

    evaluate = commands.add_parser(
        "evaluate",
        help="held-out metrics (likelihoods, FD/KID/precision/recall/density/coverage/IS with floors) as JSON",
        description="Compute the metrics that fit the model's family on a dataset split and print them as JSON: "
        "negative ELBO and IWAE NLL (nats, bits/dim) for models with a likelihood; for image generators, FD, KID, "
        "precision/recall, density/coverage and an Inception-Score-style score of --num-samples samples in the "
        "feature space of --extractor, each with its real-vs-real floor under 'floor'; CAS with --cas; "
        "accuracy for classifiers; for image-to-image models on a translation task, L1/PSNR against the targets "
        "(paired tasks) and the same sample metrics of their translations of the split's sources against the "
        "real target-domain images.",
    )
    evaluate.add_argument("preset", metavar="PRESET_OR_DIR", help="shipped preset or preset directory")
    evaluate.add_argument(
        "--data",
        help="dataset name, translation task or text corpus (default: the preset's training data, else "
        "fashion_mnist)",
    )
    evaluate.add_argument("--split", choices=SPLITS, default="test", help="dataset split (default test)")
    evaluate.add_argument("--limit", type=_positive(int), help="evaluate on the first N examples only")
    evaluate.add_argument("--num-samples", dest="num_samples", type=_positive(int),
                          help="generated samples for the sample metrics (default: the number of evaluated examples)")
    evaluate.add_argument("--iwae-samples", dest="iwae_samples", type=_positive(int),
                          help=f"importance samples k of the IWAE bound (default {DEFAULT_IWAE_SAMPLES})")
    evaluate.add_argument("--extractor", metavar="PRESET_OR_DIR",
                          help="classifier preset whose features the sample metrics use "
                          "(default: the shipped classifier for the dataset)")
    evaluate.add_argument("--cas", action="store_true",
                          help="conditional models: also the Classification Accuracy Score (trains two classifiers)")
    evaluate.add_argument("--seed", type=_non_negative(int), default=0,
                          help="seed of the generated samples and KID subsets (default 0)")
    evaluate.add_argument("--batch-size", dest="batch_size", type=_positive(int), default=DEFAULT_BATCH_SIZE,
                          help=f"examples per model call (default {DEFAULT_BATCH_SIZE})")
    evaluate.add_argument("--output", help="also write the JSON to this file")
    _add_sampler_arguments(evaluate)
    evaluate.set_defaults(run=_evaluate_command)
    return parser


def _add_sampler_arguments(command):
    command.add_argument("--sampler", metavar="NAME",
                         help="sampler the model draws with (models that take one; see artifex_keras.samplers)")
    command.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                         help="a setting of --sampler (e.g. --set k=10); VALUE is JSON or a plain string; repeatable")


def _sampler(args):
    """The `Sampler` of `--sampler NAME --set KEY=VALUE ...`, or None."""
    settings = _parse_overrides(args.set)
    if args.sampler is None:
        if settings:
            raise CommandError(f"--set {args.set[0]} sets a sampler setting and needs --sampler NAME")
        return None
    try:
        return samplers.get({"class_name": args.sampler, "config": settings})
    except TypeError as error:
        raise CommandError(f"--sampler {args.sampler}: {error}") from None


def _parse_learning_rates(values):
    """None, one rate for every phase, or a dict of rates by phase name, from `--learning-rate` values."""
    if not values:
        return None
    rates = {}
    for value in values:
        phase, separator, text = value.rpartition("=")
        try:
            rate = float(text)
        except ValueError:
            rate = math.nan
        if not (math.isfinite(rate) and rate > 0) or (separator and not phase):
            raise CommandError(f"--learning-rate expects a positive RATE or PHASE=RATE, got {value!r}")
        rates[phase if separator else None] = rate
    if None in rates:
        if len(rates) > 1:
            raise CommandError("--learning-rate: give one RATE for every phase, or PHASE=RATE values, not both")
        return rates[None]
    return rates


def _positive(kind):
    return _number(kind, "positive", lambda value: value > 0)


def _non_negative(kind):
    return _number(kind, "non-negative", lambda value: value >= 0)


def _number(kind, adjective, accept):
    """An argparse `type` that parses `kind` and rejects values `accept` refuses (and NaN/inf)."""

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or not accept(value):
            raise argparse.ArgumentTypeError(f"expected a {adjective} {kind.__name__}, got {text!r}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _parse_overrides(pairs):
    """`{"latent_dim": 8, "hidden_dims": (16,)}` from `["latent_dim=8", "hidden_dims=[16]"]`."""
    overrides = {}
    for pair in pairs:
        key, separator, text = pair.partition("=")
        key = key.strip()
        if not separator or not key:
            raise CommandError(f"--set expects KEY=VALUE (e.g. --set latent_dim=8), got {pair!r}")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        overrides[key] = _lists_to_tuples(value)
    return overrides


def _check_override_keys(cls, overrides):
    fields = cls.config_class.field_names()
    for key, value in overrides.items():
        if key not in fields:
            raise CommandError(
                f"--set {key}={json.dumps(value)}: {cls.__name__} has no config field {key!r}.{_hint(key, fields)} "
                f"Fields: {', '.join(fields)}"
            )


def _lists_to_tuples(value):
    return tuple(_lists_to_tuples(item) for item in value) if isinstance(value, list) else value


# Lookups ----------------------------------------------------------------------
def _hint(name, candidates):
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.5)
    return f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""


def _families():
    return sorted({get_model_class(name).family for name in list_models()} - {None})


def _short_name(name):
    path = pathlib.Path(name).expanduser()
    return path.resolve().name if path.is_dir() else name.rstrip("/").rsplit("/", 1)[-1]


def _print_table(rows):
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths)] + [str(row[-1])]
        print("  ".join(cells).rstrip())
