"""Sampling and likelihood speed of the shipped VAE presets, next to plain PyTorch.

Times, on the active Keras backend:

* ``generate(10000)`` of ``vae_fashion_mnist`` and of ``vqvae_fashion_mnist``
  (the VQ-VAE draws its 7x7 code grid from the PixelCNN prior, 49 prior passes);
* ``nll(x_test, num_samples=100)`` of ``vae_fashion_mnist`` over the 10,000
  Fashion-MNIST test images (the IWAE bound, one million decoder passes);

and, in the same process, the same IWAE bound written the usual PyTorch way
(``torch.no_grad``, the preset's weights copied into ``nn.Linear`` layers,
100 importance samples per image, ``logsumexp``) as the peer. Each row is run
once to warm up (compilation), then timed ``--repeats`` times; the median is
reported. ``torch÷ours`` above 1 means ours is faster.

Usage (from the repository root):
```
PYTHONPATH=. python benchmarks/sampling.py                        # JAX (default)
KERAS_BACKEND=tensorflow PYTHONPATH=. python benchmarks/sampling.py
KERAS_BACKEND=torch PYTHONPATH=. python benchmarks/sampling.py --json torch.json
```
"""

import argparse
import json
import os
import platform
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

import artifex_keras as ak  # noqa: E402

NUM_SAMPLES = 10000
IWAE_SAMPLES = 100


class TorchVAE(nn.Module):
    """The MLP VAE of `vae_fashion_mnist` in plain PyTorch, with its weights copied in."""

    def __init__(self, model):
        super().__init__()
        dense = [layer for layer in model.encoder.layers if isinstance(layer, keras.layers.Dense)]
        dense.append(model.posterior_head.layers[-1])
        self.encoder = nn.ModuleList(_linear(layer) for layer in dense)
        decoder = [layer for layer in model.decoder.layers if isinstance(layer, keras.layers.Dense)]
        self.decoder = nn.ModuleList(_linear(layer) for layer in decoder)
        self.latent_dim = model.config.latent_dim

    @staticmethod
    def _mlp(layers, h):
        for layer in layers[:-1]:
            h = torch.relu(layer(h))
        return layers[-1](h)

    @torch.no_grad()
    def iwae_nll(self, x, k, batch_size=40):
        """`-log (1/k) sum_i p(x, z_i) / q(z_i | x)` per image."""
        out = []
        log_2pi = float(np.log(2 * np.pi))
        for start in range(0, len(x), batch_size):
            xb = x[start : start + batch_size].flatten(1)
            mean, log_var = self._mlp(self.encoder, xb).chunk(2, dim=-1)
            std = torch.exp(0.5 * log_var)
            eps = torch.randn(k, *mean.shape)
            z = mean + std * eps
            logits = self._mlp(self.decoder, z.reshape(-1, self.latent_dim)).reshape(k, len(xb), -1)
            log_px = (xb * logits - nn.functional.softplus(logits)).sum(-1)
            log_pz = (-0.5 * (log_2pi + z.square())).sum(-1)
            log_qz = (-0.5 * (log_2pi + log_var + eps.square())).sum(-1)
            out.append(-(torch.logsumexp(log_px + log_pz - log_qz, dim=0) - np.log(k)))
        return torch.cat(out).numpy()


def _linear(layer):
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in layer.weights)
    linear = nn.Linear(*kernel.shape)
    linear.weight.data = torch.from_numpy(kernel.T.copy())
    linear.bias.data = torch.from_numpy(bias.copy())
    return linear


def timed(fn, repeats):
    fn()  # warm-up: compilation
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args(argv)

    backend = keras.backend.backend()
    vae = ak.from_preset("vae_fashion_mnist")
    vqvae = ak.from_preset("vqvae_fashion_mnist")
    x_test, _ = ak.data.load("fashion_mnist", split="test")
    peer = TorchVAE(vae)
    torch.manual_seed(0)

    rows = {}
    rows["vae generate(10000)"] = timed(lambda: vae.generate(NUM_SAMPLES, seed=0), args.repeats)
    rows["vqvae generate(10000)"] = timed(lambda: vqvae.generate(NUM_SAMPLES, seed=0), args.repeats)
    rows["vae nll(10k test, k=100)"] = timed(lambda: vae.nll(x_test, num_samples=IWAE_SAMPLES), args.repeats)
    rows["plain torch nll(10k test, k=100)"] = timed(
        lambda: peer.iwae_nll(torch.from_numpy(x_test), IWAE_SAMPLES), args.repeats
    )

    ours_nll = float(np.mean(rows["vae nll(10k test, k=100)"][2]))
    torch_nll = float(np.mean(rows["plain torch nll(10k test, k=100)"][2]))
    ratio = rows["plain torch nll(10k test, k=100)"][0] / rows["vae nll(10k test, k=100)"][0]
    print(f"backend: {backend} ({ak.backend.device_name()}), keras {keras.__version__}, torch {torch.__version__}")
    print(f"{'row':36s} {'median s':>9s}  repeats")
    for name, (median, times, _) in rows.items():
        print(f"{name:36s} {median:9.2f}  {', '.join(f'{t:.2f}' for t in times)}")
    print(f"IWAE NLL (nats): ours {ours_nll:.2f}, plain torch {torch_nll:.2f}; torch÷ours {ratio:.2f}")
    if args.json:
        result = {
            "backend": backend,
            "python": platform.python_version(),
            "keras": keras.__version__,
            "torch": torch.__version__,
            "rows": {name: {"median_s": median, "times_s": times} for name, (median, times, _) in rows.items()},
            "iwae_nll_nats": {"ours": ours_nll, "torch": torch_nll},
            "torch_over_ours": ratio,
        }
        with open(args.json, "w") as file:
            json.dump(result, file, indent=2)


if __name__ == "__main__":
    main()
