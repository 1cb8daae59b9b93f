"""DDPM training steps and DDIM sampling against Hugging Face diffusers, same UNet, same run.

Training: our `DDPM` (its UNet, the epsilon objective on a linear schedule of
1000 steps, Adam) against diffusers' `UNet2DModel` configured to the same
network, trained the usual PyTorch way (`DDPMScheduler.add_noise`, MSE on
the noise, `zero_grad / backward / step`), on the same batches of the same
images, with the same optimizer (Adam 2e-4, Keras' epsilon 1e-7 on both
sides). The script asserts that both networks have the same number of
parameters. Configurations (`--configs`):

* `cifar10`: the CIFAR-10 network of DDPM (32x32x3, channels 128/256/256/256,
  2 residual blocks per level, one-head attention at 16x16 and in the
  middle, dropout 0.1, 32 groups): 35,746,307 parameters; batch 8.
* `small`: a Fashion-MNIST-sized network (28x28x1, channels 32/64/64, 1
  residual block per level, attention at 7x7 with heads of 32 channels, 8
  groups, no dropout); batch 64.
* `tiny`: 8x8x1, channels 16/32, a check that the script runs (seconds).

Ours runs `model.fit` (one epoch of `--steps` batches per repeat), timed by a
callback from the start of each step until its logs reach the host; the
diffusers loop is timed per step until `loss.item()`. Our moving average of
the weights is switched off (`ema_decay=None`) so both sides do the same
work. The images are uniform noise in [0, 1] (seeded): the work of a step does
not depend on them. Each side is warmed up (2 steps; ours compiles there),
then timed `--repeats` times, round-robin; the median over repeats of the
mean ms/step is reported next to the CPU time of the process (all threads)
per step, which other jobs on the CPU disturb far less than wall time. The
ratio is each row / ours: above 1 means ours is faster. Each side's loss on its
first batch (about 1 for an untrained epsilon network) is printed as a check.
`--compile` adds rows with the diffusers UNet under `torch.compile` (training and sampling).
The row "plain Keras model" trains our UNet with the same objective in a bare
`keras.Model` (Keras' own `train_step`): its ratio to ours is what our
training loop adds per step (above 1: ours is the faster).

Sampling: DDIM with `--ddim-steps` (50) steps and eta 0 from the untrained
network, `--sampling-batch` images per call: ours is `model.generate(n,
sampler=DDIMSampler(steps=50))` (one compiled loop); diffusers' is the usual
loop of `DDIMScheduler` (trailing timesteps, no clipping, as ours) and the
UNet under `torch.no_grad()`. Each is called once to warm up (ours compiles),
then timed `--repeats` times; images/s is the median. `--sampling-configs`
picks the configurations (`small` by default; `cifar10` is slow on a CPU).
Before timing, the script checks that both DDIM loops agree on a closed-form
denoiser, so they do the same arithmetic around the network.

On a GPU (when the Keras backend computes on one and PyTorch sees CUDA) both
sides run there, in bfloat16 mixed precision where the GPU supports it
(Keras' "mixed_bfloat16" policy; `torch.autocast`).

Usage (from the repository root; needs `pip install -e ".[bench]"`):

    PYTHONPATH=. python benchmarks/diffusion.py                                  # ours on JAX
    PYTHONPATH=. python benchmarks/diffusion.py --threads 1 --steps 5 --repeats 1  # fair on a shared machine
    PYTHONPATH=. python benchmarks/diffusion.py --skip-training --sampling-configs small cifar10
    KERAS_BACKEND=torch PYTHONPATH=. python benchmarks/diffusion.py --threads 1
"""

import argparse
import contextlib
import dataclasses
import os
import statistics
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# On a GPU, PyTorch shares it with ours: JAX and TensorFlow must not take all its memory up front.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")


from benchmarks import threads  # noqa: E402
from benchmarks.threads import cpu_seconds  # noqa: E402

if __name__ == "__main__":
    threads.limit_from_argv(sys.argv[1:])

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from diffusers import DDIMScheduler  # noqa: E402
from diffusers import DDPMScheduler  # noqa: E402
from diffusers import UNet2DModel  # noqa: E402

import artifex_keras as ak  # noqa: E402
from artifex_keras.backend import device_name  # noqa: E402
from artifex_keras.samplers import DDIMSampler  # noqa: E402
from artifex_keras.samplers import schedules  # noqa: E402
from benchmarks.step_timer import StepTimer  # noqa: E402

SEED = 0
WARMUP_STEPS = 2
NUM_TIMESTEPS = 1000
BETA_START, BETA_END = 1e-4, 0.02  # the linear schedule of DDPM, ours' defaults
LEARNING_RATE = 2e-4  # DDPM's CIFAR-10 rate
EPSILON = 1e-7  # keras.optimizers.Adam's default, given to PyTorch too
CIFAR10_PARAMETERS = 35_746_307


@dataclasses.dataclass(frozen=True)
class UNetSpec:
    """One network, built on both sides; `batch_size` is its default training batch."""

    image_shape: tuple
    channels: tuple
    num_res_blocks: int
    attention_levels: tuple
    head_dim: int
    num_groups: int
    dropout: float
    batch_size: int


CONFIGS = {
    # DDPM's CIFAR-10 UNet: one attention head (of 256 channels) at 16x16 and in the middle.
    "cifar10": UNetSpec((32, 32, 3), (128, 256, 256, 256), 2, (1,), 256, 32, 0.1, 8),
    "small": UNetSpec((28, 28, 1), (32, 64, 64), 1, (2,), 32, 8, 0.0, 64),
    "tiny": UNetSpec((8, 8, 1), (16, 32), 1, (1,), 8, 8, 0.0, 8),
}


# The two networks ---------------------------------------------------------------------
def our_model(spec):
    """Our DDPM with the spec's UNet, a linear schedule and no moving average (the peer keeps none)."""
    return ak.models.DDPM(
        input_shape=spec.image_shape,
        channels=spec.channels,
        num_res_blocks=spec.num_res_blocks,
        attention_levels=spec.attention_levels,
        head_dim=spec.head_dim,
        num_groups=spec.num_groups,
        dropout=spec.dropout,
        schedule="linear",
        num_timesteps=NUM_TIMESTEPS,
        ema_decay=None,
        seed=SEED,
    )


def diffusers_unet(spec):
    """diffusers' `UNet2DModel` wired as our UNet: same levels, blocks, attention, groups and embeddings."""
    levels = range(len(spec.channels))
    return UNet2DModel(
        sample_size=spec.image_shape[0],
        in_channels=spec.image_shape[-1],
        out_channels=spec.image_shape[-1],
        block_out_channels=spec.channels,
        layers_per_block=spec.num_res_blocks,
        down_block_types=tuple("AttnDownBlock2D" if i in spec.attention_levels else "DownBlock2D" for i in levels),
        up_block_types=tuple("AttnUpBlock2D" if i in spec.attention_levels else "UpBlock2D" for i in reversed(levels)),
        attention_head_dim=spec.head_dim,
        norm_num_groups=spec.num_groups,
        norm_eps=1e-6,
        dropout=spec.dropout,
        flip_sin_to_cos=True,  # [cos, sin] features with frequencies 10000^(-k / half), as ours
        freq_shift=0,
    )


def count(parameters):
    return sum(int(np.prod(tuple(p.shape))) for p in parameters)


# Timing helpers --------------------------------------------------------------------------




def synchronize(device):
    if device == "cuda":
        torch.cuda.synchronize()


# Training ----------------------------------------------------------------------------------
class Ours:
    def __init__(self, spec, x, batch_size):
        self.name = f"artifex_keras ({keras.backend.backend()})"
        self.model = our_model(spec)
        self.model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE, epsilon=EPSILON))
        self.x, self.batch_size = x, batch_size

    def parameters(self):
        return count(self.model.trainable_variables)

    def run(self, steps):
        """`(wall, cpu)` seconds per step of one `fit` epoch of `steps` batches, and its first loss."""
        timer = StepTimer()
        cpu = cpu_seconds()
        self.model.fit(self.x[: steps * self.batch_size], epochs=1, batch_size=self.batch_size, verbose=0,
                       callbacks=[timer])  # fmt: skip
        return statistics.mean(timer.times), (cpu_seconds() - cpu) / steps, timer.first_loss


class PlainEpsilonModel(keras.Model):
    """The epsilon objective in a bare `keras.Model`, trained by Keras' own `train_step`."""

    def __init__(self, network):
        super().__init__()
        self.network = network
        self.seed_generator = keras.random.SeedGenerator(SEED)
        bars = schedules.LinearSchedule(NUM_TIMESTEPS, BETA_START, BETA_END).alphas_cumprod
        self.signal = keras.ops.convert_to_tensor(np.sqrt(bars).astype("float32"))
        self.noise = keras.ops.convert_to_tensor(np.sqrt(1.0 - bars).astype("float32"))

    def call(self, images, training=False):
        """The residual `network(x_t, t) - eps` of uniform timesteps `t`, for images in [0, 1]."""
        ops = keras.ops
        x0 = images * 2.0 - 1.0
        t = keras.random.randint((ops.shape(x0)[0],), 0, NUM_TIMESTEPS, seed=self.seed_generator)
        eps = keras.random.normal(ops.shape(x0), seed=self.seed_generator)
        signal = ops.reshape(ops.take(self.signal, t), (-1, 1, 1, 1))
        noise = ops.reshape(ops.take(self.noise, t), (-1, 1, 1, 1))
        prediction = self.network(signal * x0 + noise * eps, ops.cast(t, "float32"), training=training)
        return ops.cast(prediction, "float32") - eps

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return keras.ops.mean(keras.ops.square(y_pred))


class PlainKeras(Ours):
    """Our UNet in `PlainEpsilonModel`: the gap to `Ours` is what our training loop adds per step."""

    def __init__(self, spec, x, batch_size):
        self.name = f"plain Keras model ({keras.backend.backend()})"
        self.model = PlainEpsilonModel(our_model(spec).denoiser)
        self.model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE, epsilon=EPSILON))
        self.x, self.batch_size = x, batch_size


class Diffusers:
    def __init__(self, spec, x, batch_size, device, autocast, compiled):
        self.name = f"diffusers{' + torch.compile' if compiled else ''} ({device})"
        torch.manual_seed(SEED)
        self.unet = diffusers_unet(spec).to(device)
        self.network = torch.compile(self.unet) if compiled else self.unet
        self.optimizer = torch.optim.Adam(self.unet.parameters(), lr=LEARNING_RATE, eps=EPSILON)
        self.scheduler = DDPMScheduler(num_train_timesteps=NUM_TIMESTEPS, beta_schedule="linear",
                                       beta_start=BETA_START, beta_end=BETA_END)  # fmt: skip
        # NCHW in [-1, 1], the diffusion space ours maps [0, 1] images to.
        self.x = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)) * 2.0 - 1.0).to(device)
        self.batch_size, self.device, self.autocast = batch_size, device, autocast

    def parameters(self):
        return count(self.unet.parameters())

    def loss(self, x0):
        noise = torch.randn_like(x0)
        t = torch.randint(0, NUM_TIMESTEPS, (x0.shape[0],), device=self.device)
        with self.autocast():
            prediction = self.network(self.scheduler.add_noise(x0, noise, t), t).sample
        return F.mse_loss(prediction.float(), noise)

    def run(self, steps):
        self.unet.train()
        order = torch.randperm(steps * self.batch_size, device=self.device)
        times, first, cpu = [], None, cpu_seconds()
        for index in range(steps):
            batch = self.x[order[index * self.batch_size : (index + 1) * self.batch_size]]
            start = time.perf_counter()
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.loss(batch)
            loss.backward()
            self.optimizer.step()
            value = loss.item()  # waits for the device, as ours' logs do
            times.append(time.perf_counter() - start)
            first = value if first is None else first
        return statistics.mean(times), (cpu_seconds() - cpu) / steps, first


def images(spec, num_images, seed=SEED):
    """Seeded uniform images in [0, 1], NHWC float32."""
    return np.random.default_rng(seed).uniform(size=(num_images, *spec.image_shape)).astype("float32")


def training(args, device, autocast):
    print(f"training: {args.steps} steps x {args.repeats} repeats after {WARMUP_STEPS} warm-up steps; "
          f"Adam {LEARNING_RATE:g}, linear schedule of {NUM_TIMESTEPS}, epsilon MSE")  # fmt: skip
    for name in args.configs:
        spec = CONFIGS[name]
        batch_size = args.batch_size or spec.batch_size
        keras.utils.set_random_seed(SEED)
        x = images(spec, max(args.steps, WARMUP_STEPS) * batch_size)
        impls = [Ours(spec, x, batch_size), PlainKeras(spec, x, batch_size),
                 Diffusers(spec, x, batch_size, device, autocast, compiled=False)]  # fmt: skip
        if args.compile:
            impls.append(Diffusers(spec, x, batch_size, device, autocast, compiled=True))
        counts = {impl.name: impl.parameters() for impl in impls}
        assert len(set(counts.values())) == 1, f"{name}: parameter counts differ: {counts}"
        if name == "cifar10":
            assert counts[impls[0].name] == CIFAR10_PARAMETERS, counts
        first = {impl.name: impl.run(WARMUP_STEPS)[2] for impl in impls}  # ours and torch.compile compile here
        times = {impl.name: [] for impl in impls}
        cpu = {impl.name: [] for impl in impls}
        for _ in range(args.repeats):
            for impl in impls:  # round-robin: drift of the machine hits every row alike
                seconds, cpu_per_step, _ = impl.run(args.steps)
                times[impl.name].append(seconds)
                cpu[impl.name].append(cpu_per_step)
        ms = {key: 1000.0 * statistics.median(values) for key, values in times.items()}
        cpu_ms = {key: 1000.0 * statistics.median(values) for key, values in cpu.items()}
        ours = impls[0].name
        print(f"{name} {spec.image_shape}, batch {batch_size}: {counts[ours]:,} parameters on both sides")
        print(f"  {'implementation':36s} {'ms/step':>10s} {'cpu ms/step':>12s} {'row÷ours':>11s} "
              f"{'cpu row÷ours':>15s} {'first loss':>11s}")  # fmt: skip
        for key in ms:
            ratios = ("", "") if key == ours else (f"{ms[key] / ms[ours]:.2f}", f"{cpu_ms[key] / cpu_ms[ours]:.2f}")
            print(f"  {key:36s} {ms[key]:10.1f} {cpu_ms[key]:12.1f} {ratios[0]:>11s} {ratios[1]:>15s} "
                  f"{first[key]:11.3f}")  # fmt: skip


# Sampling ----------------------------------------------------------------------------------
def ddim_scheduler(steps):
    """diffusers' DDIM set up as ours: trailing timesteps, no clipping of x0, alpha_bar = 1 after the last step."""
    scheduler = DDIMScheduler(num_train_timesteps=NUM_TIMESTEPS, beta_schedule="linear", beta_start=BETA_START,
                              beta_end=BETA_END, clip_sample=False, set_alpha_to_one=True,
                              timestep_spacing="trailing")  # fmt: skip
    scheduler.set_timesteps(steps)
    return scheduler


def diffusers_ddim(network, scheduler, noise):
    """The usual diffusers loop: predict the noise, `scheduler.step(..., eta=0)`, for every timestep."""
    x = noise
    for t in scheduler.timesteps:
        x = scheduler.step(network(x, t), t, x, eta=0.0).prev_sample
    return x


def check_ddim_loops(steps):
    """Both DDIM loops on the closed-form denoiser `eps = x / 2` (NHWC vs NCHW of the same numbers) agree."""
    noise = np.random.default_rng(SEED).normal(size=(2, 4, 4, 1)).astype("float32")
    schedule = schedules.get({"class_name": "linear", "config": {"num_timesteps": NUM_TIMESTEPS}})
    ours = keras.ops.convert_to_numpy(DDIMSampler(steps=steps).sample(lambda x, t: x / 2.0, schedule, noise))
    theirs = diffusers_ddim(lambda x, t: x / 2.0, ddim_scheduler(steps), torch.from_numpy(noise.transpose(0, 3, 1, 2)))
    error = float(np.max(np.abs(ours - theirs.numpy().transpose(0, 2, 3, 1))))
    assert error < 1e-4 * max(1.0, float(np.max(np.abs(ours)))), f"the DDIM loops disagree by {error}"
    return error


def timed(call, repeats):
    """Median `(wall, cpu)` seconds of `repeats` calls after one warm-up call."""
    call()
    wall, cpu = [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), cpu_seconds()
        call()
        wall.append(time.perf_counter() - start)
        cpu.append(cpu_seconds() - cpu_start)
    return statistics.median(wall), statistics.median(cpu)


def sampling_rows(spec, args, device, autocast):
    """`{implementation: (wall, cpu) seconds per call}` of DDIM sampling with the untrained `spec` network."""
    n, height, width, channels = args.sampling_batch, *spec.image_shape
    keras.utils.set_random_seed(SEED)
    model = our_model(spec)
    sampler = DDIMSampler(steps=args.ddim_steps, eta=0.0)
    torch.manual_seed(SEED)
    unet = diffusers_unet(spec).to(device).eval()
    scheduler = ddim_scheduler(args.ddim_steps)

    def ours():
        return model.generate(n, seed=SEED, batch_size=n, sampler=sampler)

    def theirs(network):
        generator = torch.Generator(device).manual_seed(SEED)
        noise = torch.randn((n, channels, height, width), generator=generator, device=device)
        with torch.no_grad(), autocast():
            x = diffusers_ddim(lambda x, t: network(x, t).sample.float(), scheduler, noise)
        return (x / 2.0 + 0.5).clamp(0.0, 1.0).permute(0, 2, 3, 1).cpu().numpy()  # as ours returns them

    rows = {
        f"artifex_keras ({keras.backend.backend()})": timed(ours, args.repeats),
        f"diffusers ({device})": timed(lambda: theirs(unet), args.repeats),
    }
    if args.compile:
        compiled = torch.compile(unet)
        rows[f"diffusers + torch.compile ({device})"] = timed(lambda: theirs(compiled), args.repeats)
    return rows


def sampling(args, device, autocast):
    error = check_ddim_loops(args.ddim_steps)
    print(f"sampling: DDIM-{args.ddim_steps} (eta 0), {args.sampling_batch} images per call, median of "
          f"{args.repeats} after a warm-up call; the DDIM loops agree to {error:.1e} on a closed-form "
          "denoiser")  # fmt: skip
    for name in args.sampling_configs:
        spec = CONFIGS[name]
        rows = sampling_rows(spec, args, device, autocast)
        ours = next(iter(rows))
        print(f"{name} {spec.image_shape}:")
        print(f"  {'implementation':36s} {'s/call':>8s} {'cpu s/call':>11s} {'images/s':>9s} {'row÷ours':>11s} "
              f"{'cpu row÷ours':>15s}")  # fmt: skip
        for key, (wall, cpu) in rows.items():
            ratios = ("", "") if key == ours else (f"{wall / rows[ours][0]:.2f}", f"{cpu / rows[ours][1]:.2f}")
            print(f"  {key:36s} {wall:8.2f} {cpu:11.2f} {args.sampling_batch / wall:9.2f} {ratios[0]:>11s} "
                  f"{ratios[1]:>15s}")  # fmt: skip


# Entry point -------------------------------------------------------------------------------
def setup_device():
    """`(torch device, autocast context factory)`: the GPU in bfloat16 when ours computes on one, else the CPU."""
    if device_name() == "cpu" or not torch.cuda.is_available():
        return "cpu", contextlib.nullcontext
    if not torch.cuda.is_bf16_supported():
        return "cuda", contextlib.nullcontext
    keras.mixed_precision.set_global_policy("mixed_bfloat16")  # before any model is built
    return "cuda", lambda: torch.autocast("cuda", dtype=torch.bfloat16)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", choices=sorted(CONFIGS), default=["small", "cifar10"],
                        help="networks of the training comparison")  # fmt: skip
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="training batch of every configuration (default: 8 for cifar10, 64 for small)",
    )
    parser.add_argument("--steps", type=int, default=10, help="training steps per timed repeat")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats of every row (the median is reported)")
    parser.add_argument("--sampling-configs", nargs="+", choices=sorted(CONFIGS), default=["small"],
                        help="networks of the sampling comparison (cifar10 is slow on a CPU)")  # fmt: skip
    parser.add_argument("--sampling-batch", type=int, default=16, help="images per sampling call")
    parser.add_argument("--ddim-steps", type=int, default=50, help="DDIM steps of a sampling call")
    parser.add_argument("--compile", action="store_true", help="run the diffusers UNet under torch.compile")
    parser.add_argument("--skip-training", action="store_true", help="leave out the training comparison")
    parser.add_argument("--skip-sampling", action="store_true", help="leave out the sampling comparison")
    parser.add_argument("--threads", type=int, default=None, metavar="N", help="cap every library at N threads")
    args = parser.parse_args(argv)
    for name in ("batch_size", "steps", "repeats", "sampling_batch", "ddim_steps", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer")
    if args.ddim_steps > NUM_TIMESTEPS:
        parser.error(f"--ddim-steps must be at most {NUM_TIMESTEPS}")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device, autocast = setup_device()
    policy = keras.mixed_precision.global_policy().name
    print(f"backend {keras.backend.backend()} on {device_name()}, diffusers on {device}; precision {policy}; "
          f"torch threads {torch.get_num_threads()}")  # fmt: skip
    if not args.skip_training:
        training(args, device, autocast)
    if not args.skip_sampling:
        sampling(args, device, autocast)


if __name__ == "__main__":
    main()
