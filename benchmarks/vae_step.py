"""Training-step time of the artifex_keras MLP VAE against a plain PyTorch VAE.

Model (identical on both sides): ``VAE(input_shape=(28, 28, 1), latent_dim=32,
architecture="mlp", hidden_dims=(512, 256), likelihood="bernoulli")``, i.e.
encoder 784-512-256 (ReLU) -> Dense(2 * 32) for the Gaussian posterior's mean
and log-variance, reparameterised sample, decoder 32-256-512 (ReLU) -> 784
logits. Loss = Bernoulli NLL summed over pixels (BCE with logits) + analytic
KL to N(0, I), both averaged over the batch. Adam, lr 1e-3, betas (0.9, 0.999),
epsilon 1e-7 (Keras' default; the PyTorch side is given the same epsilon).
Same batch size, same data: Fashion-MNIST train images scaled to [0, 1]
(`artifex_keras.data.load`); scikit-learn's 8x8 digits only when Fashion-MNIST
is not available on the machine, which the output then says loudly.

What is timed (all in one process, on the same data):

* ``artifex_keras fit`` (the headline): end-to-end ``model.fit(x, epochs=1,
  batch_size=B, verbose=0)`` over exactly ``--steps`` batches, i.e. what a
  user gets, including the per-call costs of ``fit`` (input validation, data
  adapter, callbacks, state sync) amortised over the epoch. A warm-up ``fit``
  runs first so XLA / graph compilation is excluded.
* ``artifex_keras step``: the bare compiled train step. ``model.make_train_function()``
  then ``model.train_function`` is called in a Python loop on batches already
  on the device (JAX: the jitted, state-donating ``train_step`` with the state
  threaded through by hand; torch backend: ``train_function([batch])``;
  TensorFlow: the ``tf.function`` on a ``tf.data`` iterator). This is the lower
  bound of our step: ``fit`` minus ``step`` is the cost of the ``fit`` loop.
* ``torch eager``: an idiomatic PyTorch loop: a ``torch.randperm`` per epoch,
  minibatches gathered from a pre-made tensor, ``zero_grad / loss.backward() /
  opt.step()``; ``torch.set_num_threads`` is left at its default (unless
  ``--threads`` is given).
* ``torch.compile`` (only with ``--torch-compile``): the same loop with the
  module wrapped in ``torch.compile`` (forward and backward compiled, optimizer
  eager). Its warm-up includes compilation, which is excluded from the timing.

Each implementation is warmed up (``--warmup`` steps, compilation included),
then timed ``--repeats`` times over ``--steps`` steps each; the repeats are run
round-robin across implementations (so slow drift of the machine hits all of
them alike) and the median is reported. Every timed region ends by waiting for
the device (``block_until_ready`` / ``.item()``), so asynchronous dispatch
cannot hide work. ms/step = median seconds / steps; images/s = B / (ms/step);
cpu ms/step = CPU time of the whole process (all threads) per step.
The ratio is ``torch eager ms/step / ours ms/step``: above 1 means ours is
faster. As a check that both sides train the same model, the negative ELBO
(nats per image, one posterior sample) of each trained model on 2048 test
images is printed; after the same number of steps they should be close.

Shared machines: timings are only meaningful when nothing else uses the CPU.
The "other CPU" column gives, from /proc/stat, the most cores that *other*
processes kept busy during any repeat of that row, and a warning is printed
when it exceeds 0.1. Under such contention PyTorch's OpenMP thread pool
degrades far more than XLA's (tens of times on a 2-core box), so a
contaminated ratio overstates our lead. Two remedies: ``--wait-idle SECONDS``
waits for an idle CPU before every repeat and redoes disturbed repeats (within
that time budget); ``--threads N`` caps XLA / TensorFlow / PyTorch at N
intra-op threads, and ``--threads 1`` gives a fair single-core comparison even
while another process occupies a core.

Usage (from the repository root):

    PYTHONPATH=. python benchmarks/vae_step.py                      # JAX backend
    KERAS_BACKEND=torch PYTHONPATH=. python benchmarks/vae_step.py  # ours on torch
    PYTHONPATH=. python benchmarks/vae_step.py --batch-size 256 --steps 100 \\
        --repeats 5 --torch-compile --json results.json
    PYTHONPATH=. python benchmarks/vae_step.py --wait-idle 600   # busy, shared machine
    PYTHONPATH=. python benchmarks/vae_step.py --threads 1       # single-core comparison
"""

import argparse
import functools
import json
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


from benchmarks import threads  # noqa: E402

if __name__ == "__main__":
    threads.limit_from_argv(sys.argv[1:])

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import artifex_keras  # noqa: E402

LATENT_DIM = 32
HIDDEN_DIMS = (512, 256)
LEARNING_RATE = 1e-3
BETA_1, BETA_2, EPSILON = 0.9, 0.999, 1e-7  # keras.optimizers.Adam defaults
EVAL_SIZE = 2048
SEED = 0
DISTURBED = 0.1  # cores used by other processes above which a timing is reported as contaminated


# Data ------------------------------------------------------------------------
def load_data(num_images):
    """`(x_train, x_eval, dataset_name)`: float32 NHWC images in [0, 1]."""
    try:
        x, _ = artifex_keras.data.load("fashion_mnist", split="train", limit=num_images)
        x_eval, _ = artifex_keras.data.load("fashion_mnist", split="test", limit=EVAL_SIZE)
        name = "fashion_mnist"
    except artifex_keras.data.DatasetUnavailableError as error:
        print(f"WARNING: Fashion-MNIST is unavailable ({error}); FALLING BACK TO 8x8 DIGITS.", file=sys.stderr)
        x_all, _ = artifex_keras.data.load("digits", split="all")
        x, x_eval, name = x_all[:1500], x_all[1500:], "digits (fallback: Fashion-MNIST unavailable)"
    if len(x) < num_images:  # only the digits fallback is this small: tile it
        x = np.resize(x, (num_images,) + x.shape[1:])
    return np.ascontiguousarray(x, dtype="float32"), np.ascontiguousarray(x_eval, dtype="float32"), name


class OtherLoad:
    """CPU cores used by *other* processes (plus hypervisor steal) over a timed region.

    Linux only (reads /proc); elsewhere `measure` returns None. Timings taken
    while other processes compete for the CPU are not meaningful, so the
    benchmark reports this next to every measurement.
    """

    def __init__(self):
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.available = os.path.exists("/proc/stat") and os.path.exists("/proc/self/stat")

    def _other_ticks(self):
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        # user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait
        busy = sum(fields[:8]) - fields[3] - fields[4]
        with open("/proc/self/stat") as f:
            own = f.read().rsplit(")", 1)[1].split()
        return busy - int(own[11]) - int(own[12])  # minus this process's utime + stime (all threads)

    def wait_idle(self, deadline, quiet=1.0, threshold=0.05):
        """Sleep until other processes used < `threshold` cores for `quiet` s (or `deadline` passes)."""
        if not self.available:
            return
        while time.monotonic() < deadline:
            before = self._other_ticks()
            time.sleep(quiet)
            if (self._other_ticks() - before) / self.tick / quiet < threshold:
                return

    def measure(self, fn):
        """`(fn(), other_cores, own_cpu_seconds)`.

        other_cores: mean number of cores busy in other processes (None off Linux);
        own_cpu_seconds: CPU time of this process (all threads) spent in `fn`.
        """
        own_before = _own_cpu_seconds()
        if not self.available:
            return fn(), None, _own_cpu_seconds() - own_before
        before, start = self._other_ticks(), time.perf_counter()
        result = fn()
        wall = time.perf_counter() - start
        other = max(0.0, (self._other_ticks() - before) / self.tick / wall)
        return result, other, _own_cpu_seconds() - own_before


def _own_cpu_seconds():
    times = os.times()
    return times.user + times.system


def _wait(model):
    """Block until the last step of `model` has finished on the device."""
    keras.ops.convert_to_numpy(model.trainable_variables[-1])


# Ours ------------------------------------------------------------------------
def build_ours(input_shape):
    model = artifex_keras.models.VAE(
        input_shape=input_shape,
        latent_dim=LATENT_DIM,
        architecture="mlp",
        hidden_dims=HIDDEN_DIMS,
        likelihood="bernoulli",
        seed=SEED,
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE, beta_1=BETA_1, beta_2=BETA_2, epsilon=EPSILON)
    )
    return model


class OursFit:
    """End-to-end `model.fit(x, epochs=1)` over `steps` batches."""

    def __init__(self, x, batch_size, steps):
        self.name = f"artifex_keras fit ({keras.backend.backend()})"
        self.model = build_ours(x.shape[1:])
        self.x = x[: steps * batch_size]
        self.batch_size = batch_size

    def warmup(self, steps):
        self.model.fit(self.x[: steps * self.batch_size], epochs=1, batch_size=self.batch_size, verbose=0)
        _wait(self.model)

    def run(self, steps):
        start = time.perf_counter()
        self.model.fit(self.x, epochs=1, batch_size=self.batch_size, verbose=0)
        _wait(self.model)
        return time.perf_counter() - start

    def neg_elbo(self, x_eval):
        return float(-np.mean(self.model.elbo(x_eval, seed=SEED)))


class OursStep:
    """The compiled `model.train_function` called in a bare loop on device-resident batches."""

    def __init__(self, x, batch_size, steps):
        self.backend = keras.backend.backend()
        self.name = f"artifex_keras step ({self.backend})"
        self.model = build_ours(x.shape[1:])
        order = np.random.default_rng(SEED).permutation(steps * batch_size)
        numpy_batches = [x[order[i * batch_size : (i + 1) * batch_size]] for i in range(steps)]
        self.model.make_train_function()
        self.train_function = self.model.train_function
        if self.backend == "jax":
            import jax

            self._jax = jax
            self.batches = [jax.device_put(batch) for batch in numpy_batches]
            self.groups = (
                self.model.trainable_variables,
                self.model.non_trainable_variables,
                self.model.optimizer.variables,
                self.model.metrics_variables,
            )
            # Copies: the jitted step donates its state, the model keeps its own buffers.
            self.state = tuple([jax.numpy.array(v.value, copy=True) for v in group] for group in self.groups)
        elif self.backend == "tensorflow":
            import tensorflow as tf

            dataset = tf.data.Dataset.from_tensor_slices(np.stack(numpy_batches)).repeat().prefetch(2)
            self.iterator = iter(dataset)
        else:
            self.batches = [keras.ops.convert_to_tensor(batch) for batch in numpy_batches]

    def warmup(self, steps):
        self.run(steps)

    def run(self, steps):
        start = time.perf_counter()
        if self.backend == "jax":
            state, batches = self.state, self.batches
            for i in range(steps):
                _, state = self.train_function(state, iter((batches[i % len(batches)],)))
            self._jax.block_until_ready(state)
            self.state = state
        elif self.backend == "tensorflow":
            for _ in range(steps):
                self.train_function(self.iterator)
            _wait(self.model)
        else:
            if hasattr(self.model, "train"):
                self.model.train()
            batches = self.batches
            for i in range(steps):
                self.train_function([batches[i % len(batches)]])
            _wait(self.model)
        return time.perf_counter() - start

    def neg_elbo(self, x_eval):
        if self.backend == "jax":  # write the hand-threaded state back into the model
            for group, values in zip(self.groups, self.state):
                for variable, value in zip(group, values):
                    variable.assign(value)
        return float(-np.mean(self.model.elbo(x_eval, seed=SEED)))


# Plain PyTorch -----------------------------------------------------------------
class TorchVAE(nn.Module):
    """The same MLP VAE written the usual PyTorch way; `forward` returns the loss."""

    def __init__(self, data_dim, latent_dim=LATENT_DIM, hidden_dims=HIDDEN_DIMS):
        super().__init__()
        encoder, width = [], data_dim
        for units in hidden_dims:
            encoder += [nn.Linear(width, units), nn.ReLU()]
            width = units
        self.encoder = nn.Sequential(*encoder, nn.Linear(width, 2 * latent_dim))
        decoder, width = [], latent_dim
        for units in reversed(hidden_dims):
            decoder += [nn.Linear(width, units), nn.ReLU()]
            width = units
        self.decoder = nn.Sequential(*decoder, nn.Linear(width, data_dim))

    def forward(self, x):
        x = x.flatten(1)
        mean, log_var = self.encoder(x).chunk(2, dim=-1)
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        logits = self.decoder(z)
        reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
        kl = -0.5 * torch.sum(1.0 + log_var - mean.square() - log_var.exp()) / x.shape[0]
        return reconstruction + kl


class TorchLoop:
    def __init__(self, x, batch_size, steps, device, compiled=False):
        self.name = "torch.compile" if compiled else "torch eager"
        torch.manual_seed(SEED)
        self.device = device
        self.x = torch.from_numpy(x[: steps * batch_size]).to(device)
        self.batch_size = batch_size
        self.net = TorchVAE(int(np.prod(x.shape[1:]))).to(device)
        self.forward = torch.compile(self.net) if compiled else self.net
        self.optimizer = torch.optim.Adam(
            self.net.parameters(), lr=LEARNING_RATE, betas=(BETA_1, BETA_2), eps=EPSILON
        )

    def train_step(self, xb):
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.forward(xb)
        loss.backward()
        self.optimizer.step()
        return loss.detach()

    def warmup(self, steps):
        self.run(steps)

    def run(self, steps):
        self.net.train()
        start = time.perf_counter()
        perm = torch.randperm(len(self.x), device=self.device)
        batch = self.batch_size
        for i in range(steps):
            loss = self.train_step(self.x[perm[i * batch : (i + 1) * batch]])
        loss.item()  # waits for the device
        return time.perf_counter() - start

    def neg_elbo(self, x_eval):
        with torch.no_grad():
            return float(self.net(torch.from_numpy(x_eval).to(self.device)))


# Reporting -----------------------------------------------------------------------
def environment(model=None):
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "numpy": np.__version__,
        "keras": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "torch": torch.__version__,
        "torch_num_threads": torch.get_num_threads(),
        "XLA_FLAGS": os.environ.get("XLA_FLAGS"),
        "torch_cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    if hasattr(os, "getloadavg"):
        info["load_average"] = tuple(round(v, 2) for v in os.getloadavg())
    if keras.backend.backend() == "jax":
        import jax
        import jaxlib

        info.update(jax=jax.__version__, jaxlib=jaxlib.__version__, jax_devices=[str(d) for d in jax.devices()])
    elif keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        info.update(tensorflow=tf.__version__)
    if model is not None:
        info["ours_jit_compile"] = model.jit_compile
    return info


def torch_device():
    """Run plain PyTorch on the same kind of device as the Keras backend."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        on_gpu = jax.default_backend() == "gpu"
    elif backend == "torch":
        on_gpu = torch.cuda.is_available()  # Keras' torch backend uses CUDA whenever it is there
    else:
        import tensorflow as tf

        on_gpu = bool(tf.config.list_logical_devices("GPU"))
    return "cuda" if on_gpu and torch.cuda.is_available() else "cpu"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=128, help="batch size of every implementation")
    parser.add_argument("--steps", type=int, default=200, help="training steps per timed repeat")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats (the median is reported)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed warm-up steps (compilation included)")
    parser.add_argument("--torch-compile", action="store_true", help="also time a torch.compile'd PyTorch step")
    parser.add_argument("--json", metavar="PATH", help="write the results to PATH as JSON")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        metavar="N",
        help="cap every library at N intra-op threads (default: each library's own choice); "
        "1 gives a fair comparison on a machine shared with other work",
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="on a shared machine: before each timed repeat wait until no other process uses the CPU, and redo "
        "repeats that other processes disturbed, spending at most SECONDS in all (default 0: off)",
    )
    args = parser.parse_args(argv)
    for name in ("batch_size", "steps", "repeats", "warmup"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer")
    if args.threads is not None:
        if args.threads < 1:
            parser.error("--threads must be a positive integer")
        if __name__ != "__main__":  # imported as a module: best effort, XLA / TF may be initialised already
            threads.limit(args.threads)
        torch.set_num_threads(args.threads)

    x, x_eval, dataset = load_data(args.steps * args.batch_size)
    device = torch_device()
    backend = keras.backend.backend()

    impls = [OursFit(x, args.batch_size, args.steps), OursStep(x, args.batch_size, args.steps)]
    impls.append(TorchLoop(x, args.batch_size, args.steps, device))
    if args.torch_compile:
        impls.append(TorchLoop(x, args.batch_size, args.steps, device, compiled=True))

    env = environment(impls[0].model)
    print("Environment:")
    for key, value in env.items():
        print(f"  {key:18s} {value}")
    print(
        f"Data: {dataset}, {args.steps * args.batch_size} train images per timed epoch, shape {x.shape[1:]}, "
        "scaled to [0, 1]; "
        f"plain torch device: {device}"
    )
    print(
        f"Model: MLP VAE latent {LATENT_DIM}, hidden {HIDDEN_DIMS}, Bernoulli; Adam lr {LEARNING_RATE}. "
        f"batch {args.batch_size}, {args.steps} steps x {args.repeats} repeats, {args.warmup} warm-up steps"
    )

    warmup_seconds = {}
    for impl in impls:
        start = time.perf_counter()
        impl.warmup(min(args.warmup, args.steps))
        warmup_seconds[impl.name] = time.perf_counter() - start
    times = {impl.name: [] for impl in impls}
    cpu_times = {impl.name: [] for impl in impls}
    other_load = {impl.name: [] for impl in impls}
    probe = OtherLoad()
    deadline = time.monotonic() + args.wait_idle
    redone = 0
    for _ in range(args.repeats):
        for impl in impls:  # round-robin: drift of the machine affects every implementation alike
            while True:
                if args.wait_idle:
                    probe.wait_idle(deadline)
                seconds, load, cpu_seconds = probe.measure(functools.partial(impl.run, args.steps))
                if not args.wait_idle or load is None or load <= DISTURBED or time.monotonic() >= deadline:
                    break
                redone += 1  # disturbed by other processes: wait for quiet and time it again
            times[impl.name].append(seconds)
            cpu_times[impl.name].append(cpu_seconds)
            other_load[impl.name].append(load)

    results = []
    for impl in impls:
        seconds = statistics.median(times[impl.name])
        ms_per_step = 1000.0 * seconds / args.steps
        results.append(
            {
                "implementation": impl.name,
                "keras_backend": backend if impl.name.startswith("artifex") else None,
                "batch_size": args.batch_size,
                "steps": args.steps,
                "ms_per_step": ms_per_step,
                "images_per_s": args.batch_size / (ms_per_step / 1000.0),
                "cpu_ms_per_step": 1000.0 * statistics.median(cpu_times[impl.name]) / args.steps,
                "repeat_seconds": times[impl.name],
                "warmup_seconds": warmup_seconds[impl.name],
                "other_processes_cores": other_load[impl.name],
                "eval_neg_elbo_nats": impl.neg_elbo(x_eval),
            }
        )
    by_name = {r["implementation"]: r for r in results}
    torch_ms = by_name["torch eager"]["ms_per_step"]
    compiled_ms = by_name["torch.compile"]["ms_per_step"] if args.torch_compile else None
    for r in results:
        if r["keras_backend"] is not None:
            r["ratio_torch_eager_over_ours"] = torch_ms / r["ms_per_step"]
            if compiled_ms is not None:
                r["ratio_torch_compile_over_ours"] = compiled_ms / r["ms_per_step"]

    columns = ["implementation", "batch", "ms/step", "images/s", "cpu ms/step", "torch÷ours"]
    if compiled_ms is not None:
        columns.append("compile÷ours")
    columns += ["-ELBO", "other CPU"]
    print()
    header = f"{columns[0]:<30s}" + "".join(f"{c:>13s}" for c in columns[1:])
    print(header)
    print("-" * len(header))
    for r in results:
        row = f"{r['implementation']:<30s}{r['batch_size']:>13d}{r['ms_per_step']:>13.2f}{r['images_per_s']:>13.0f}"
        row += f"{r['cpu_ms_per_step']:>13.2f}"
        row += f"{r.get('ratio_torch_eager_over_ours', float('nan')):>13.2f}".replace("nan", "  -")
        if compiled_ms is not None:
            row += f"{r.get('ratio_torch_compile_over_ours', float('nan')):>13.2f}".replace("nan", "  -")
        row += f"{r['eval_neg_elbo_nats']:>13.1f}"
        loads = [v for v in r["other_processes_cores"] if v is not None]
        row += f"{max(loads):>13.2f}" if loads else f"{'?':>13s}"
        print(row)
    print(
        "\nms/step: median wall time over repeats. torch÷ours = torch eager ms/step / ours ms/step "
        "(>1: ours is faster).\n"
        "cpu ms/step: CPU time of this process (all threads) per step; with --threads 1 it barely moves when other "
        "processes compete,\n  with several threads it also counts threads spinning while they wait.\n"
        "-ELBO: negative ELBO (nats/image) of each trained model on held-out images, a same-model sanity check.\n"
        "other CPU: most cores that other processes kept busy during one of the row's repeats (should be ~0).\n"
        "Warm-up (s, compilation included): "
        + ", ".join(f"{name} {seconds:.1f}" for name, seconds in warmup_seconds.items())
    )

    loads = [v for r in results for v in r["other_processes_cores"] if v is not None]
    if loads:
        average, peak = statistics.mean(loads), max(loads)
        print(f"Other processes used {average:.2f} cores on average (max {peak:.2f}) while timing.")
        if redone:
            print(f"{redone} disturbed repeat(s) were discarded and timed again (--wait-idle).")
        if max(loads) > DISTURBED:
            print(
                f"WARNING: other processes competed for the {os.cpu_count()} CPU cores during timing; "
                "these numbers are contaminated. Rerun on an idle machine, or use --wait-idle / --threads 1."
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"environment": env, "dataset": dataset, "args": vars(args), "results": results}, f, indent=2)
        print(f"Wrote {args.json}")
    return results


if __name__ == "__main__":
    main()
