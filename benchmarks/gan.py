"""Training-step speed of our DCGAN and WGAN-GP against plain PyTorch with the same architectures.

Both sides train the same networks on the same images with the same
optimizers, in the same process: a DCGAN step (non-saturating loss: one
discriminator update, then one generator update) and a WGAN-GP step (one
critic update with the gradient penalty, which differentiates through an
input gradient, then one generator update; `n_critic=1` so a step is the
same work on both sides). Ours runs `model.fit` on the active Keras backend;
plain PyTorch runs an eager loop. Each implementation is warmed up
(compilation included), then timed `--repeats` times over `--steps` steps,
round-robin; the median is reported. The ratio is `torch ms/step / ours
ms/step`: above 1 means ours is faster. Timings on a shared machine are noisy:
PyTorch's thread pool degrades far more than XLA's when other processes use
the CPU, so `--threads 1` gives the fairer comparison there. When ours
computes on a GPU and PyTorch sees CUDA, the PyTorch side runs there too
(float32 on both sides); `--compile` adds rows with both PyTorch networks
under `torch.compile`.

Usage (from the repository root):

    PYTHONPATH=. python benchmarks/gan.py                        # JAX backend
    KERAS_BACKEND=torch PYTHONPATH=. python benchmarks/gan.py    # ours on torch
    PYTHONPATH=. python benchmarks/gan.py --batch-size 64 --steps 50 --json gan.json
"""

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# On a GPU, PyTorch shares it with ours: JAX must not take all its memory up front.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")


from benchmarks import threads  # noqa: E402

if __name__ == "__main__":
    threads.limit_from_argv(sys.argv[1:])

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import artifex_keras  # noqa: E402
from artifex_keras.backend import device_name  # noqa: E402
from artifex_keras.models.gan import DCGAN  # noqa: E402
from artifex_keras.models.gan import WGANGP  # noqa: E402

LATENT_DIM = 32
GENERATOR_DIMS = (64, 32)
DISCRIMINATOR_DIMS = (32, 64)
SEED = 0
# Adam settings of both phases: (learning rate, beta_1, beta_2); epsilon as keras' default.
SETTINGS = {"dcgan": (2e-4, 0.5, 0.999), "wgan_gp": (1e-4, 0.0, 0.9)}
EPSILON = 1e-7
PENALTY_WEIGHT = 10.0


def load_data(num_images):
    """Float32 NHWC images in [0, 1]: Fashion-MNIST when available offline, else the 8x8 digits tiled to 28x28."""
    try:
        x, _ = artifex_keras.data.load("fashion_mnist", split="train", limit=num_images)
        return x.astype("float32"), "fashion_mnist"
    except Exception:  # noqa: BLE001 - any missing-data error falls back to the bundled digits
        x, _ = artifex_keras.data.load("digits", split="train")
        x = np.kron(x[..., 0], np.ones((4, 4)))[:, 2:30, 2:30, None]
        x = np.resize(x, (num_images, 28, 28, 1))
        return x.astype("float32"), "digits (tiled to 28x28)"


# Ours --------------------------------------------------------------------------
class Ours:
    def __init__(self, kind, x, batch_size):
        self.name = f"artifex_keras {kind} ({keras.backend.backend()})"
        cls = DCGAN if kind == "dcgan" else WGANGP
        extra = {} if kind == "dcgan" else {"n_critic": 1}
        self.model = cls(
            input_shape=x.shape[1:],
            latent_dim=LATENT_DIM,
            generator_dims=GENERATOR_DIMS,
            discriminator_dims=DISCRIMINATOR_DIMS,
            ema_decay=0.0,
            seed=SEED,
            **extra,
        )
        rate, beta_1, beta_2 = SETTINGS[kind]
        self.model.compile(
            optimizer={
                phase: keras.optimizers.Adam(rate, beta_1=beta_1, beta_2=beta_2, epsilon=EPSILON)
                for phase in ("discriminator", "generator")
            }
        )
        self.x, self.batch_size = x, batch_size

    def run(self, steps):
        start = time.perf_counter()
        self.model.fit(self.x[: steps * self.batch_size], epochs=1, batch_size=self.batch_size, verbose=0)
        keras.ops.convert_to_numpy(self.model.trainable_variables[-1])
        return time.perf_counter() - start


# Plain PyTorch -----------------------------------------------------------------
class TorchGenerator(nn.Module):
    def __init__(self, output_shape):
        super().__init__()
        self.start = (GENERATOR_DIMS[0], output_shape[0] // 4, output_shape[1] // 4)
        self.project = nn.Linear(LATENT_DIM, int(np.prod(self.start)), bias=False)
        self.norm0 = nn.BatchNorm1d(int(np.prod(self.start)), eps=1e-3, momentum=0.01)
        self.up1 = nn.ConvTranspose2d(GENERATOR_DIMS[0], GENERATOR_DIMS[1], 4, stride=2, padding=1, bias=False)
        self.norm1 = nn.BatchNorm2d(GENERATOR_DIMS[1], eps=1e-3, momentum=0.01)
        self.up2 = nn.ConvTranspose2d(GENERATOR_DIMS[1], output_shape[2], 4, stride=2, padding=1)

    def forward(self, z):
        h = F.relu(self.norm0(self.project(z))).view(-1, *self.start)
        return torch.sigmoid(self.up2(F.relu(self.norm1(self.up1(h)))))


class TorchDiscriminator(nn.Module):
    def __init__(self, input_shape):
        super().__init__()
        self.conv1 = nn.Conv2d(input_shape[2], DISCRIMINATOR_DIMS[0], 4, stride=2, padding=1)
        self.conv2 = nn.Conv2d(DISCRIMINATOR_DIMS[0], DISCRIMINATOR_DIMS[1], 4, stride=2, padding=1)
        self.head = nn.Linear(DISCRIMINATOR_DIMS[1] * (input_shape[0] // 4) * (input_shape[1] // 4), 1)

    def forward(self, x):
        h = F.leaky_relu(self.conv1(x), 0.2)
        h = F.leaky_relu(self.conv2(h), 0.2)
        return self.head(h.flatten(1)).squeeze(1)


class TorchGAN:
    def __init__(self, kind, x, batch_size, device="cpu", compiled=False):
        self.name = f"plain torch {kind} ({'torch.compile' if compiled else 'eager'}, {device})"
        self.kind, self.device = kind, device
        torch.manual_seed(SEED)
        self.generator = TorchGenerator(x.shape[1:]).to(device)
        self.discriminator = TorchDiscriminator(x.shape[1:]).to(device)
        rate, beta_1, beta_2 = SETTINGS[kind]
        self.g_opt = torch.optim.Adam(self.generator.parameters(), rate, betas=(beta_1, beta_2), eps=EPSILON)
        self.d_opt = torch.optim.Adam(self.discriminator.parameters(), rate, betas=(beta_1, beta_2), eps=EPSILON)
        self.x = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).to(device)
        self.batch_size = batch_size
        # The optimizers hold the modules' parameters; the compiled wrappers share them.
        self.generate = torch.compile(self.generator) if compiled else self.generator
        self.discriminate = torch.compile(self.discriminator) if compiled else self.discriminator

    def discriminator_loss(self, real, fake):
        if self.kind == "dcgan":
            return F.softplus(-self.discriminate(real)).mean() + F.softplus(self.discriminate(fake)).mean()
        alpha = torch.rand(real.shape[0], 1, 1, 1, device=self.device)
        points = (real + alpha * (fake - real)).requires_grad_(True)
        # The penalty differentiates through an input gradient: the eager module, as compiled
        # double backward is not supported by torch.compile.
        (grads,) = torch.autograd.grad(self.discriminator(points).sum(), points, create_graph=True)
        penalty = ((grads.flatten(1).square().sum(1) + 1e-12).sqrt() - 1.0).square().mean()
        return self.discriminate(fake).mean() - self.discriminate(real).mean() + PENALTY_WEIGHT * penalty

    def generator_loss(self, fake):
        scores = self.discriminate(fake)
        return F.softplus(-scores).mean() if self.kind == "dcgan" else -scores.mean()

    def step(self, real):
        z = torch.randn(real.shape[0], LATENT_DIM, device=self.device)
        fake = self.generate(z).detach()
        self.d_opt.zero_grad(set_to_none=True)
        self.discriminator_loss(real, fake).backward()
        self.d_opt.step()
        self.g_opt.zero_grad(set_to_none=True)
        loss = self.generator_loss(self.generate(torch.randn(real.shape[0], LATENT_DIM, device=self.device)))
        loss.backward()
        self.g_opt.step()
        return loss

    def run(self, steps):
        self.generator.train()
        self.discriminator.train()
        start = time.perf_counter()
        for i in range(steps):
            loss = self.step(self.x[i * self.batch_size : (i + 1) * self.batch_size])
        loss.item()
        return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=50, help="training steps per timed repeat")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats (the median is reported)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed warm-up steps (compilation included)")
    parser.add_argument("--json", metavar="PATH", help="write the results to PATH as JSON")
    parser.add_argument("--threads", type=int, default=None, metavar="N", help="cap every library at N threads")
    parser.add_argument("--compile", action="store_true", help="add rows with the PyTorch networks under torch.compile")
    args = parser.parse_args(argv)
    if args.threads is not None:
        if args.threads < 1:
            parser.error("--threads must be a positive integer")
        torch.set_num_threads(args.threads)
    for name in ("batch_size", "steps", "repeats", "warmup"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer")
    x, dataset = load_data(max(args.steps, args.warmup) * args.batch_size)
    device = "cuda" if device_name() != "cpu" and torch.cuda.is_available() else "cpu"
    print(
        f"Data: {dataset} {x.shape[1:]}, batch {args.batch_size}, {args.steps} steps x {args.repeats} repeats; "
        f"backend {keras.backend.backend()} on {device_name()}, torch on {device}, "
        f"torch threads {torch.get_num_threads()}"
    )
    results = {}
    for kind in ("dcgan", "wgan_gp"):
        impls = [Ours(kind, x, args.batch_size), TorchGAN(kind, x, args.batch_size, device)]
        if args.compile:
            impls.append(TorchGAN(kind, x, args.batch_size, device, compiled=True))
        for impl in impls:
            impl.run(args.warmup)
        times = {impl.name: [] for impl in impls}
        for _ in range(args.repeats):
            for impl in impls:
                times[impl.name].append(impl.run(args.steps))
        ms = {name: 1000 * statistics.median(values) / args.steps for name, values in times.items()}
        ours = ms[impls[0].name]
        ratios = {impl.name: ms[impl.name] / ours for impl in impls[1:]}
        results[kind] = {"ms_per_step": ms, "ratio_torch_over_ours": ratios}
        for name, value in ms.items():
            ratio = f"torch / ours = {ratios[name]:.2f}" if name in ratios else ""
            print(f"  {name:48s} {value:8.2f} ms/step  {ratio}")
        print(f"  {kind}: above 1 means ours is faster")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"arguments": vars(args), "dataset": dataset, "results": results}, handle, indent=2)
    return results


if __name__ == "__main__":
    main()
