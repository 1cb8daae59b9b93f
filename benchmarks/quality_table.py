"""Regenerate REPRODUCIBILITY.md: every shipped preset, what it scores, what real data scores, and how.

One row per shipped preset (`artifex_keras.list_presets()`): the dataset, our
values, the real-vs-real floor of each metric (the evaluated test split
against as many training examples, in the same feature space), the literature
value where a comparable one exists (with paper and table), and the protocol
(samples, reference split, raw or EMA weights, seed, feature extractor).

Every number comes from the preset's own `metadata.json`:

* `metrics`, recorded by `artifex-keras train` on the test split: the
  likelihoods (negative ELBO, IWAE NLL with the `k` it used) or a
  classifier's accuracy;
* `evaluation`, written by `--refresh`: the output of
  `artifex_keras.evaluation.evaluate_model` for what training does not record
  (sample metrics with floors for image generators, CAS for conditional ones,
  accuracy for classifiers), with the command, backend, device and versions
  that computed it.

A family's issue adds its literature entries to `LITERATURE` (only numbers
measured under a comparable protocol, never a guess) and its metric columns
to `COLUMNS` when it brings new metrics.

Usage (from the repository root):

    python benchmarks/quality_table.py                      # rewrite REPRODUCIBILITY.md from recorded numbers
    python benchmarks/quality_table.py --refresh            # re-evaluate every shipped preset first (JAX, CPU: minutes)
    python benchmarks/quality_table.py --refresh vae_fashion_mnist --no-cas
    python benchmarks/quality_table.py --refresh flow_matching_fashion_mnist --num-samples 2000   # slow samplers
"""

import argparse
import datetime
import json
import os
import pathlib
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


import artifex_keras as ak  # noqa: E402
from artifex_keras.backend import device_name  # noqa: E402
from artifex_keras.data.audio import SPEECH_DATASETS  # noqa: E402
from artifex_keras.data.text import list_text_datasets  # noqa: E402
from artifex_keras.data.toy import TOY_DATASETS  # noqa: E402
from artifex_keras.data.toy import entropy  # noqa: E402
from artifex_keras.evaluation import available_metrics  # noqa: E402
from artifex_keras.evaluation import evaluate_model  # noqa: E402
from artifex_keras.training import environment  # noqa: E402
from artifex_keras.training import invocation  # noqa: E402

PRESETS_DIR = ROOT / "presets"
# Datasets of the autoregressive sequence presets (their own table: held-out likelihoods, no sample metrics).
SEQUENCE_DATASETS = (*SPEECH_DATASETS, *list_text_datasets())
OUTPUT = ROOT / "REPRODUCIBILITY.md"
# What --refresh measures; the likelihoods are already recorded by `train` (with its IWAE k).
REFRESHED = ("generate", "predict_proba")
SEED = 0
DATASETS = {
    "fashion_mnist": "Fashion-MNIST",
    "digits": "8x8 digits (scikit-learn)",
    "mnist": "MNIST",
    "eight_gaussians": "eight Gaussians",
    "checkerboard": "checkerboard",
    "shakespeare": "Shakespeare's works",
    "speech": "16 kHz speech",
}

# Published values comparable to a preset's number: {preset: [(metric, value, "paper, table"), ...]}, or the
# reason none is comparable. Our likelihoods use a Bernoulli decoder on grey levels in [0, 1] (not binarised
# data, not a discrete 8-bit likelihood) and our sample metrics use our own classifiers' features, so the
# published VAE NLLs (binarised MNIST, e.g. Burda et al. 2016, Table 1) and Inception-based FIDs do not apply.
NO_COMPARABLE_LIKELIHOOD = (
    "n/a: no comparable published number (Bernoulli likelihood on non-binarised grey levels; "
    "sample metrics in our classifier's feature space)"
)
# Image flows: discrete 8-bit likelihood under uniform dequantisation, the protocol of the flow papers.
IMAGE_FLOW_LITERATURE = (
    "no published Fashion-MNIST number with this protocol recorded; on MNIST (same protocol, an easier "
    "dataset): RealNVP 1.06, Glow 1.05 bits/dim (Grathwohl et al. 2019, FFJORD, Table 2), with far larger "
    "networks and budgets"
)
LITERATURE = {
    "vae_fashion_mnist": NO_COMPARABLE_LIKELIHOOD,
    "cvae_fashion_mnist": NO_COMPARABLE_LIKELIHOOD,
    "beta_vae_fashion_mnist": NO_COMPARABLE_LIKELIHOOD,
    "vqvae_fashion_mnist": (
        "n/a: no comparable published number (Bernoulli reconstruction on grey levels plus a PixelCNN prior's "
        "code NLL; sample metrics in our classifier's feature space)"
    ),
    "realnvp_fashion_mnist": IMAGE_FLOW_LITERATURE,
    "glow_fashion_mnist": IMAGE_FLOW_LITERATURE,
    "fashion_mnist_classifier": "n/a: our own architecture and training budget; no published run of it",
    "digits_classifier": "n/a: our own architecture, on a fixed 1500/297 split of scikit-learn's digits",
    "transformer_shakespeare_char": (
        "not the same corpus or split: nanoGPT's character model on its tiny-Shakespeare file reaches a "
        "validation loss of 1.47 nats/char (2.12 bits) with 10.7M parameters on a GPU and about 1.88 "
        "(2.71 bits) with a CPU-sized model (Karpathy, nanoGPT README)"
    ),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--refresh", nargs="*", metavar="PRESET",
                        help="re-evaluate these shipped presets (all when none are named) before writing")
    parser.add_argument("--no-cas", dest="cas", action="store_false",
                        help="skip the Classification Accuracy Score of conditional presets when refreshing")
    parser.add_argument("--num-samples", dest="num_samples", type=int,
                        help="generated samples for the sample metrics when refreshing (default: the whole test split)")
    parser.add_argument("--output", default=str(OUTPUT), help=f"markdown file to write (default {OUTPUT.name})")
    args = parser.parse_args(argv)

    names = ak.list_presets()
    if args.refresh is not None:
        unknown = sorted(set(args.refresh) - set(names))
        if unknown:
            parser.error(f"--refresh: {', '.join(unknown)} is not a shipped preset; shipped: {', '.join(names)}")
        if args.num_samples is not None and args.num_samples < 1:
            parser.error(f"--num-samples must be a positive int, got {args.num_samples}")
        for name in args.refresh or names:
            refresh(name, cas=args.cas, num_samples=args.num_samples)
    text = render([row(name) for name in names])
    pathlib.Path(args.output).write_text(text)
    print(f"Wrote {args.output} ({len(names)} presets)")


def refresh(name, cas=True, num_samples=None):
    """Evaluate one shipped preset under the table's protocol; store it as `evaluation` in its metadata.

    `num_samples` (default: as many as test examples) bounds the samples of
    models whose sampling is slow on a CPU; the table's protocol column says how many.
    """
    metadata = ak.preset_metadata(name)
    model = ak.from_preset(name)
    capabilities = [capability for capability in available_metrics(model) if capability in REFRESHED]
    if not capabilities:
        print(f"{name}: nothing to refresh ({type(model).__name__} has none of {', '.join(REFRESHED)})")
        return
    data = metadata.get("training", {}).get("data", "fashion_mnist")
    conditional = model.label_spec() is not None
    start = time.perf_counter()
    result = evaluate_model(
        model,
        data=data,
        split="test",
        num_samples=num_samples,
        seed=SEED,
        cas=cas and conditional,
        capabilities=capabilities,
    )
    record = {
        "command": invocation(),
        **environment(),
        "device": device_name(),
        "evaluated_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "metrics": result,
    }
    path = PRESETS_DIR / name / "metadata.json"
    path.write_text(json.dumps({**metadata, "evaluation": record}, indent=2, sort_keys=True) + "\n")
    print(f"{name}: evaluated in {time.perf_counter() - start:.0f} s -> {path}")


def row(name):
    """Everything one table row needs: the training run's metrics merged with the refreshed evaluation."""
    metadata = ak.preset_metadata(name)
    recorded = dict(metadata.get("metrics", {}))
    refreshed = metadata.get("evaluation")
    metrics = {**recorded, **(refreshed["metrics"] if refreshed else {})}
    return {"name": name, "metadata": metadata, "recorded": recorded, "refreshed": refreshed, "metrics": metrics}


# Rendering ----------------------------------------------------------------------
def render(rows):
    densities = [r for r in rows if r["metadata"].get("training", {}).get("data") in TOY_DATASETS]
    sequences = [r for r in rows if r["metadata"].get("training", {}).get("data") in SEQUENCE_DATASETS]
    generators = [r for r in rows if r["metadata"].get("family") != "feature_extractor"
                  and r not in densities and r not in sequences]  # fmt: skip
    extractors = [r for r in rows if r["metadata"].get("family") == "feature_extractor"]
    lines = [
        "# Reproducibility: what every shipped preset scores, and how it was measured",
        "",
        "Generated by `python benchmarks/quality_table.py` from each preset's `metadata.json` (its `metrics`",
        "from training and its `evaluation`, which `--refresh` recomputes). Do not edit by hand.",
        "",
        "**Floor** = the same metric for real data: the test split against the first *N* training",
        "images (*N* = the number of generated samples), in the same feature space. It is what a",
        "perfect model would score at this sample size (FD and KID are biased upwards at finite *N*).",
        "For the Inception-Score-style score the floor is the score of the real test split; for CAS,",
        "the accuracy of the same classifier trained on as many real images per class.",
        "",
        "Sample metrics live in the feature space of our own classifier presets (penultimate layer,",
        "128-D), not Inception-v3: they compare models within this table, not with published FIDs.",
        "Users with ImageNet weights can measure standard FID with",
        "`evaluate_model(model, extractor=keras.applications.InceptionV3(include_top=False, pooling=\"avg\"),`",
        "`...)` (see `artifex_keras.metrics.feature_extractor`).",
        "",
        "## Generative presets",
        "",
        "| Preset | Dataset | FD ↓ (floor) | KID×10³ ↓ (floor) | Precision / recall ↑ (floor) "
        "| Density / coverage ↑ (floor) | IS ↑ (real) | CAS ↑ (real) | NLL / −ELBO / IWAE, nats (bits/dim) "
        "| Literature | Protocol |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines += [_generator_row(r) for r in generators]
    lines += [
        "",
        "## 2-D density presets",
        "",
        "Toy densities of `artifex_keras.data` (51,200 train, 10,000 test points). **Optimum** = the",
        "data's entropy (given the component, for class-conditional presets), the lowest expected NLL any",
        "model can reach (`metadata.json[\"reference\"]`). Sample distances compare at most",
        "5,000 samples with as many test points; the floor is the same distance between train and test points.",
        "",
        "| Preset | Dataset | Test NLL, nats (optimum; gap) | Energy distance ↓ (floor) | MMD² ↓ (floor) "
        "| Sliced W2 ↓ (floor) | Protocol |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines += [_density_row(r) for r in densities]
    lines += [
        "",
        "## Sequence presets",
        "",
        "Exact held-out likelihoods of the autoregressive models of text and audio: text holds out whole works,",
        "every character after the first scored once in windows of the model's context; audio holds out the",
        "last seconds of the recording.",
        "",
        "| Preset | Data, held-out split | Held-out cross entropy | Literature | Protocol |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [_sequence_row(r) for r in sequences]
    lines += [
        "",
        "## Feature-extractor presets",
        "",
        "The classifiers whose features define the sample metrics above (and the default CAS classifier).",
        "",
        "| Preset | Dataset | Test accuracy | Parameters | Literature | Protocol |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    lines += [_extractor_row(r) for r in extractors]
    lines += ["", "## How each preset was trained", ""]
    for r in rows:
        metadata = r["metadata"]
        training = metadata.get("training", {})
        versions = ", ".join(f"{k} {v}" for k, v in sorted(metadata.get("versions", {}).items()))
        seconds = metadata.get("train_seconds")
        lines.append(
            f"- `{r['name']}`: `{metadata.get('command', 'n/a')}` ({training.get('epochs', '?')} epochs, "
            f"{metadata.get('backend', '?')} backend on {metadata.get('trained_on', '?')}"
            + (f", {seconds / 60:.1f} min" if seconds else "")
            + f"; {versions})"
        )
    refreshed = [r for r in rows if r["refreshed"]]
    if refreshed:
        lines += ["", "## How the sample metrics were computed", ""]
        for r in refreshed:
            record = r["refreshed"]
            versions = ", ".join(f"{k} {v}" for k, v in sorted(record["versions"].items()))
            seconds = record["metrics"].get("seconds")
            lines.append(
                f"- `{r['name']}`: `{record['command']}` ({record['backend']} backend on {record['device']}, "
                f"{versions}; {seconds:.0f} s)"
            )
    return "\n".join(lines) + "\n"


def _generator_row(r):
    m = r["metrics"]
    floor = m.get("floor", {})
    cells = [
        f"`{r['name']}`",
        _dataset(m),
        _pair(m.get("fd"), floor.get("fd"), "{:.3g}"),
        _pair(_scaled(m.get("kid")), _scaled(floor.get("kid")), "{:.3g}", _scaled(m.get("kid_std_error"))),
        _both(m, floor, "precision", "recall"),
        _both(m, floor, "density", "coverage"),
        _pair(m.get("inception_score"), floor.get("inception_score"), "{:.2f}"),
        _pair(m.get("cas"), floor.get("cas"), "{:.3f}"),
        _likelihood(m),
        _literature(r["name"]),
        _protocol(r),
    ]
    return "| " + " | ".join(cells) + " |"


def _density_row(r):
    m = r["metrics"]
    floor = m.get("floor", {})
    data = r["metadata"].get("training", {}).get("data")
    optimum = r["metadata"].get("reference", {}).get("optimum_nll_nats", entropy(data))
    nll = "n/a"
    if "nll_nats" in m:
        nll = f"{m['nll_nats']:.4f}" + ("" if optimum is None else f" ({optimum:.4f}; {m['nll_nats'] - optimum:+.4f})")
    sampler = m.get("sampler")
    protocol = f"{m.get('num_samples', 0):,} samples, seed {m.get('seed', '?')}" if "num_samples" in m else (
        "sample distances not evaluated yet (run with --refresh)"
    )
    if sampler:
        protocol += f"; sampler `{sampler.get('class_name')}` {json.dumps(sampler.get('config', {}), sort_keys=True)}"
    cells = [
        f"`{r['name']}`",
        _dataset(m) if "data" in m else data,
        nll,
        _pair(m.get("energy_distance"), floor.get("energy_distance"), "{:.4f}"),
        _pair(m.get("mmd"), floor.get("mmd"), "{:.5f}"),
        _pair(m.get("sliced_wasserstein"), floor.get("sliced_wasserstein"), "{:.4f}"),
        protocol,
    ]
    return "| " + " | ".join(cells) + " |"


def _sequence_row(r):
    m = r["metrics"]
    data = m.get("data", r["metadata"].get("training", {}).get("data"))
    if "bits_per_character" in m:
        count = f"{m['num_characters']:,} characters"
        value = (
            f"{m['bits_per_character']:.4f} bits/char ({m['nll_nats_per_token']:.4f} nats/token, "
            f"perplexity {m['perplexity']:.3f})"
        )
        protocol = f"{m['split']} works; context {_config(r['name']).get('context_length')} tokens"
    else:
        count = f"{m.get('num_examples', '?'):,} windows"
        value = f"{m['nll_bits_per_dim']:.4f} bits/sample ({m['nll_nats']:.1f} nats per window)"
        protocol = f"{m.get('split', 'test')} split, mu-law codes of the model's windows"
    cells = [f"`{r['name']}`", f"{DATASETS.get(data, data)}, {m.get('split', 'test')} ({count})", value,
             _literature(r["name"]), protocol + "; raw weights (no EMA)"]  # fmt: skip
    return "| " + " | ".join(cells) + " |"


def _extractor_row(r):
    m = r["metrics"]
    accuracy = m.get("accuracy")
    cells = [
        f"`{r['name']}`",
        _dataset(m),
        "n/a" if accuracy is None else f"{accuracy:.4f}",
        f"{r['metadata'].get('parameters', 0):,}",
        _literature(r["name"]),
        f"{m.get('split', 'test')} split ({m.get('num_examples', 0):,} images); raw weights (no EMA); "
        f"seed {r['metadata'].get('training', {}).get('seed', '?')}",
    ]
    return "| " + " | ".join(cells) + " |"


def _dataset(m):
    data = m.get("data", "?")
    count = m.get("num_examples")
    return f"{DATASETS.get(data, data)}, {m.get('split', 'test')} ({f'{count:,}' if count is not None else '?'})"


def _scaled(value):
    return None if value is None else value * 1e3


def _pair(value, floor, fmt, error=None):
    if value is None:
        return "n/a"
    text = fmt.format(value) + ("" if error is None else " ± " + fmt.format(error))
    return text + ("" if floor is None else f" ({fmt.format(floor)})")


def _both(m, floor, first, second):
    if m.get(first) is None:
        return "n/a"
    ours = f"{m[first]:.3f} / {m[second]:.3f}"
    return ours + ("" if first not in floor else f" ({floor[first]:.3f} / {floor[second]:.3f})")


def _likelihood(m):
    parts = []
    if "nll_nats" in m:
        parts.append(f"exact NLL {m['nll_nats']:.1f} ({m['nll_bits_per_dim']:.4f})")
    if "neg_elbo_nats" in m:
        parts.append(f"−ELBO {m['neg_elbo_nats']:.1f} ({m['neg_elbo_bits_per_dim']:.4f})")
    if "iwae_nll_nats" in m:
        parts.append(f"IWAE k={m['iwae_num_samples']} {m['iwae_nll_nats']:.1f} ({m['iwae_nll_bits_per_dim']:.4f})")
    return "; ".join(parts) or "n/a"


def _literature(name):
    entry = LITERATURE.get(name, "n/a: no comparable published number recorded")
    if isinstance(entry, str):
        return entry
    return "; ".join(f"{metric} {value} ({source})" for metric, value, source in entry)


def _config(name):
    """The preset's model config fields (`config.json`'s "config")."""
    return json.loads((PRESETS_DIR / name / "config.json").read_text()).get("config", {})


def _protocol(r):
    m = r["metrics"]
    # `ema_decay` is a moving average of the weights in these families (in the VQ-VAE, of its codebook).
    decay = _config(r["name"]).get("ema_decay") if r["metadata"].get("family") in ("diffusion", "gan") else None
    weights = f"EMA weights (decay {decay})" if decay else "raw weights (no EMA)"
    parts = []
    if "num_samples" in m:
        floor = m.get("floor", {})
        parts.append(
            f"{m['num_samples']:,} samples (seed {m['seed']}, blocks of {m['generation_block']}) vs the "
            f"{m['split']} split; floor: first {floor.get('num_examples', '?'):,} {floor.get('reference_split', '?')} "
            f"images; features: `{m['extractor']}`"
        )
        if "cas" in m:
            parts.append(f"CAS: {m['cas_num_per_class']}/class, {m['cas_epochs']} epochs")
        sampler = m.get("sampler")
        if sampler:
            parts.append(f"sampler `{sampler['class_name']}` {json.dumps(sampler.get('config', {}), sort_keys=True)}")
    else:
        parts.append("sample metrics not evaluated yet (run with --refresh)")
    recorded = r["recorded"]
    if "iwae_num_samples" in recorded:
        parts.append(
            f"likelihoods on the {recorded.get('split', 'test')} split, one posterior draw (ELBO), "
            f"k={recorded['iwae_num_samples']} (IWAE), seed 0"
        )
    if recorded.get("nll_dequantization_scale"):
        parts.append(
            f"exact NLL on the {recorded.get('split', 'test')} split of 8-bit pixels under uniform dequantisation "
            "((k + u) / 256, one draw per pixel, seed 0; the logit transform's Jacobian included)"
        )
    parts.append(weights)
    return "; ".join(parts)


if __name__ == "__main__":
    main()
