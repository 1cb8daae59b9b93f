"""Speed (and optionally quality) of every sampler a shipped diffusion preset accepts.

For each preset (default: every shipped preset whose metadata family is
"diffusion") and each sampler of the list that the model accepts (its
`accepted_samplers` kinds, then its own `check_sampler`), on the active Keras
backend:

* seconds per sample of `model.generate(n, sampler=..., seed=0)`, `n =
  --num-samples`, after one warm-up call with the same `n` (compilation
  excluded); the median of `--repeats` calls, in wall and CPU time (all
  threads of the process; far less disturbed than wall time by other jobs);
* network evaluations per sample (NFE), derived from the sampler: one per step
  (DDPM, DDIM, DPM-Solver++, Euler, ODE Euler, consistency), `2 * steps - 1`
  for Heun on Karras' sigmas (its last step lands on sigma = 0 and keeps
  Euler's step), `steps * evaluations_per_step` for the ODE solvers (Heun and
  midpoint 2, RK4 4), `steps * (1 + corrector_steps)` for predictor-corrector
  SDE samplers and the ODE solver's count for the probability-flow sampler;
  classifier-free guidance (off here) would double every count;
* with `--fd`: FD, KID, precision and recall of `--fd-samples` samples against
  the test split of the preset's training data, by
  `evaluate_model(model, data=..., num_samples=..., sampler=..., capabilities=["generate"])`.

Samplers are named `<registered name>-<steps>` (`ddim-50`, `ode_rk4-12`; a
bare name takes the sampler's default steps); the default list covers every
kind of diffusion model: DDPM-like models (`DiffusionSampler`), flow matching
(`ODESampler`), score SDEs (`SDESampler`) and consistency models. Conditional
models generate with `model.example_conditions(n)`. The script prints a
markdown table and, with `--json PATH`, writes every measurement.

Usage (from the repository root):

    PYTHONPATH=. python benchmarks/diffusion_samplers.py                       # every diffusion preset, JAX
    PYTHONPATH=. python benchmarks/diffusion_samplers.py --presets flow_matching_fashion_mnist \\
        --num-samples 64 --repeats 1 --threads 2
    PYTHONPATH=. python benchmarks/diffusion_samplers.py --samplers ode_euler-50 ode_rk4-12 --fd --fd-samples 2000
    KERAS_BACKEND=torch PYTHONPATH=. python benchmarks/diffusion_samplers.py --json torch.json
"""

import argparse
import datetime
import json
import os
import statistics
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


from benchmarks import threads  # noqa: E402
from benchmarks.threads import cpu_seconds  # noqa: E402

if __name__ == "__main__":
    threads.limit_from_argv(sys.argv[1:])

import artifex_keras as ak  # noqa: E402
from artifex_keras import samplers  # noqa: E402
from artifex_keras.backend import device_name  # noqa: E402
from artifex_keras.evaluation import evaluate_model  # noqa: E402
from artifex_keras.samplers.consistency import ConsistencySampler  # noqa: E402
from artifex_keras.training import environment  # noqa: E402
from artifex_keras.training import invocation  # noqa: E402

FAMILY = "diffusion"
SEED = 0
DEFAULT_SAMPLERS = (
    # DDPM-like models (DDPM, DiT, latent diffusion): DiffusionSampler.
    "ddpm-100",
    "ddim-50",
    "ddim-20",
    "dpm_solver-20",
    "dpm_solver-10",
    "euler-50",
    "heun-25",
    # Flow matching: ODESampler.
    "ode_euler-50",
    "ode_euler-20",
    "ode_heun-25",
    "ode_heun-10",
    "ode_midpoint-25",
    "ode_rk4-12",
    # Score SDEs: SDESampler (predictor-corrector with one corrector step; probability flow with RK4).
    "reverse_diffusion-500",
    "pc-250",
    "probability_flow-25",
    # Consistency models.
    "consistency-1",
    "consistency-2",
)


def parse_sampler(label):
    """The sampler a label names: `<registered name>-<steps>`, or a bare registered name (its defaults)."""
    name, dash, steps = label.rpartition("-")
    if dash and steps.isdigit():
        return samplers.get({"class_name": name, "config": {"steps": int(steps)}})
    return samplers.get(label)


def evaluations(sampler):
    """Network evaluations per sample of one `generate` with `sampler` (without classifier-free guidance)."""
    if isinstance(sampler, samplers.HeunSampler):
        return 2 * sampler.steps - 1
    if isinstance(sampler, samplers.ODESampler):
        return sampler.steps * sampler.evaluations_per_step
    if isinstance(sampler, samplers.ProbabilityFlowSampler):
        return sampler.steps * sampler.ode_solver().evaluations_per_step
    if isinstance(sampler, samplers.PredictorCorrectorSampler):
        return sampler.steps * (1 + sampler.corrector_steps)
    if isinstance(sampler, (samplers.DiffusionSampler, ConsistencySampler)):
        return sampler.steps
    raise ValueError(f"no count of network evaluations for {sampler!r}")


def refusal(model, sampler):
    """Why `model` cannot run `sampler` (its accepted kinds, then its own check), or None when it can."""
    if not isinstance(sampler, model.accepted_samplers):
        kinds = " or ".join(kind.__name__ for kind in model.accepted_samplers) or "no sampler"
        return f"{type(model).__name__} takes {kinds}"
    try:
        model.check_sampler(f"{type(model).__name__}.generate", sampler)
    except ValueError as error:
        return str(error)
    return None


def time_generation(model, sampler, num_samples, repeats):
    """`(wall, cpu)` seconds of each of `repeats` `generate` calls, after one untimed call that compiles."""
    conditions = model.example_conditions(num_samples)

    def generate():
        model.generate(num_samples, sampler=sampler, seed=SEED, **conditions)

    generate()
    times = []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), cpu_seconds()
        generate()
        times.append((time.perf_counter() - wall, cpu_seconds() - cpu))
    return times


def quality(model, data, sampler, num_samples):
    """The sample metrics of `evaluate_model` with `sampler` against the test split of `data`."""
    return evaluate_model(
        model, data=data, split="test", num_samples=num_samples, seed=SEED, sampler=sampler, capabilities=["generate"]
    )


def training_data(name):
    """The dataset a preset was trained on (its metadata's "training"/"data"), or None."""
    return ak.preset_metadata(name).get("training", {}).get("data")


def measure(name, labels, args):
    """One result dict per sampler of `labels` that the preset's model accepts."""
    model = ak.from_preset(name)
    data = training_data(name)
    rows = []
    for label in labels:
        sampler = parse_sampler(label)
        reason = refusal(model, sampler)
        if reason is not None:
            if args.samplers is not None:
                print(f"{name}: skipped {label}: {reason}", flush=True)
            continue
        times = time_generation(model, sampler, args.num_samples, args.repeats)
        wall = statistics.median(t[0] for t in times)
        cpu = statistics.median(t[1] for t in times)
        row = {
            "preset": name,
            "sampler": label,
            "config": samplers.serialize(sampler),
            "steps": sampler.steps,
            "nfe": evaluations(sampler),
            "seconds_per_sample": wall / args.num_samples,
            "cpu_seconds_per_sample": cpu / args.num_samples,
            "times_s": [{"wall": w, "cpu": c} for w, c in times],
        }
        if args.fd:
            row["evaluation"] = quality(model, data, sampler, args.fd_samples)
        rows.append(row)
        print(f"{name}: {label}: {row['seconds_per_sample'] * 1e3:.1f} ms/sample", flush=True)
    if not rows:
        print(f"{name}: none of the samplers runs on {type(model).__name__}", flush=True)
    return rows


def table(rows, fd):
    """The markdown table of the results."""
    header = ["preset", "sampler", "steps", "NFE", "s/sample", "CPU s/sample", "ms/NFE per sample"]
    if fd:
        header += ["FD ↓ (floor)", "KID×10³ ↓", "precision ↑", "recall ↑"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for row in rows:
        cells = [
            f"`{row['preset']}`",
            f"`{row['sampler']}`",
            str(row["steps"]),
            str(row["nfe"]),
            f"{row['seconds_per_sample']:.4f}",
            f"{row['cpu_seconds_per_sample']:.4f}",
            f"{row['seconds_per_sample'] / row['nfe'] * 1e3:.3f}",
        ]
        if fd:
            metrics = row["evaluation"]
            cells += [
                f"{metrics['fd']:.3g} ({metrics['floor']['fd']:.3g})",
                f"{metrics['kid'] * 1e3:.3g} ± {metrics['kid_std_error'] * 1e3:.2g}",
                f"{metrics['precision']:.3f}",
                f"{metrics['recall']:.3f}",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", nargs="+", metavar="PRESET",
                        help=f"shipped {FAMILY} presets to measure (default: all of them)")  # fmt: skip
    parser.add_argument("--samplers", nargs="+", metavar="SAMPLER",
                        help="samplers as <name>-<steps>, e.g. ddim-50 (default: DEFAULT_SAMPLERS here)")  # fmt: skip
    parser.add_argument("--num-samples", type=int, default=256, help="samples per timed generate call")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per sampler (the median is reported)")
    parser.add_argument("--fd", action="store_true", help="also measure FD, KID, precision and recall")
    parser.add_argument("--fd-samples", type=int, default=2000, help="generated samples of the sample metrics")
    parser.add_argument("--json", metavar="PATH", help="write the settings, environment and results to PATH")
    parser.add_argument("--threads", type=int, default=None, metavar="N", help="cap every library at N threads")
    args = parser.parse_args(argv)
    for name in ("num_samples", "repeats", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer")
    if args.fd_samples < 10:
        parser.error("--fd-samples must be at least 10")

    shipped = ak.list_presets(family=FAMILY)
    presets = args.presets or shipped
    for name in presets:
        if name not in shipped:
            family = ak.preset_metadata(name).get("family") if name in ak.list_presets() else None
            what = f"a {family} preset" if family else "not a shipped preset"
            parser.error(f"--presets: {name!r} is {what}; shipped {FAMILY} presets: {', '.join(shipped)}")
        if args.fd and training_data(name) is None:
            parser.error(f"--fd: preset {name!r} records no training data (metadata 'training'/'data')")
    labels = args.samplers or DEFAULT_SAMPLERS
    for label in labels:
        try:
            parse_sampler(label)
        except (TypeError, ValueError) as error:
            parser.error(f"--samplers: {label!r}: {error} (name samplers as <name>-<steps>, e.g. ddim-50)")

    started = datetime.datetime.now(datetime.timezone.utc)
    env = environment()
    versions = ", ".join(f"{key} {value}" for key, value in sorted(env["versions"].items()))
    print(f"{env['backend']} on {device_name()} ({versions}); {args.num_samples} samples per call, median of "
          f"{args.repeats} after a warm-up call; {started:%Y-%m-%d}", flush=True)  # fmt: skip
    rows = [row for name in presets for row in measure(name, labels, args)]
    print()
    print(table(rows, args.fd))
    if args.json:
        record = {
            "command": invocation(),
            "date": started.isoformat(timespec="seconds"),
            **env,
            "device": device_name(),
            "arguments": vars(args),
            "results": rows,
        }
        with open(args.json, "w") as handle:
            json.dump(record, handle, indent=2)
        print(f"Wrote {args.json}")
    return rows


if __name__ == "__main__":
    main()
