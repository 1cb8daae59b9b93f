"""Flows on 2-D toy densities: artifex_keras vs zuko and normflows, same architecture, data and optimizer.

Three architectures, each written in our library and in a PyTorch library:

- `nsf`: ours `NeuralSplineFlow(num_transforms=4, hidden_units=(64, 64), num_bins=8, bound=5)`;
  zuko `NSF(2, transforms=4, hidden_features=[64, 64])`.
- `maf`: ours `MAF(num_transforms=8, hidden_units=(64, 64))`; zuko `MAF(2, transforms=8, hidden_features=[64, 64])`.
- `realnvp`: ours `RealNVP(num_transforms=8, hidden_units=(64, 64))`; normflows: 8 `MaskedAffineFlow` on
  alternating halves with MLPs [2, 64, 64, 2].

Autoregressive rows use alternating natural/reversed orderings and a
standard normal base in both libraries. normflows' RealNVP computes the shift
and the log-scale with two MLPs (ours with one MLP with two heads) and learns
its base's mean and scale. Each model trains for the same number of steps of
the same batch size with Adam (lr 1e-3) on the same fixed training split
(`artifex_keras.data.load(name)`, 51,200 points, reshuffled every pass), in the
same process; then the test split's mean negative log-likelihood (nats) is
measured and set next to the optimum (the data's entropy,
`artifex_keras.data.toy.entropy`). The step time is the mean wall time of the
training steps after the first pass over the data (compilation excluded).
Peers need `pip install -e ".[bench]"`.

```bash
PYTHONPATH=. python benchmarks/flows.py                              # ours on JAX (the default), 5000 steps of 512
PYTHONPATH=. python benchmarks/flows.py --steps 500 --models nsf     # a quick look
```
"""

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import normflows  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import zuko  # noqa: E402

import artifex_keras as ak  # noqa: E402
from artifex_keras.data import toy  # noqa: E402
from artifex_keras.models.flows import MAF  # noqa: E402
from artifex_keras.models.flows import NeuralSplineFlow  # noqa: E402
from artifex_keras.models.flows import RealNVP  # noqa: E402
from benchmarks.step_timer import StepTimer  # noqa: E402

DATASETS = ("eight_gaussians", "checkerboard")
HIDDEN = (64, 64)


def our_nsf(seed):
    return NeuralSplineFlow(input_shape=(2,), num_transforms=4, hidden_units=HIDDEN, num_bins=8, bound=5.0, seed=seed)


def our_maf(seed):
    return MAF(input_shape=(2,), num_transforms=8, hidden_units=HIDDEN, seed=seed)


def our_realnvp(seed):
    return RealNVP(input_shape=(2,), num_transforms=8, hidden_units=HIDDEN, seed=seed)


class _ZukoLogProb(torch.nn.Module):
    def __init__(self, flow):
        super().__init__()
        self.flow = flow

    def forward(self, x):
        return self.flow().log_prob(x)


class _NormflowsLogProb(torch.nn.Module):
    def __init__(self, flow):
        super().__init__()
        self.flow = flow

    def forward(self, x):
        return self.flow.log_prob(x)


def zuko_nsf():
    return _ZukoLogProb(zuko.flows.NSF(2, transforms=4, hidden_features=list(HIDDEN)))


def zuko_maf():
    return _ZukoLogProb(zuko.flows.MAF(2, transforms=8, hidden_features=list(HIDDEN)))


def normflows_realnvp():
    layers = [2, *HIDDEN, 2]
    first_half = torch.tensor([1.0, 0.0])
    couplings = []
    for index in range(8):
        mask = first_half if index % 2 == 0 else 1.0 - first_half
        shift = normflows.nets.MLP(layers, init_zeros=True)
        log_scale = normflows.nets.MLP(layers, init_zeros=True)
        couplings.append(normflows.flows.MaskedAffineFlow(mask, shift, log_scale))
    return _NormflowsLogProb(normflows.NormalizingFlow(normflows.distributions.DiagGaussian(2), couplings))


MODELS = {
    "nsf": (our_nsf, zuko_nsf, "zuko"),
    "maf": (our_maf, zuko_maf, "zuko"),
    "realnvp": (our_realnvp, normflows_realnvp, "normflows"),
}




def ours(build, x_train, x_test, steps, batch_size, learning_rate, seed):
    keras.utils.set_random_seed(seed)
    model = build(seed)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    per_epoch = len(x_train) // batch_size
    epochs = max(1, steps // per_epoch)
    timer = StepTimer()
    model.fit(x_train[: per_epoch * batch_size], epochs=epochs, batch_size=batch_size, verbose=0, callbacks=[timer])
    nll = float(-model.log_prob(x_test).mean())
    return {"nll": nll, "ms_per_step": 1e3 * float(np.mean(timer.times[per_epoch:]))}


def peer(build, x_train, x_test, steps, batch_size, learning_rate, seed):
    torch.manual_seed(seed)
    log_prob = build()
    optimizer = torch.optim.Adam(log_prob.parameters(), lr=learning_rate)
    data = torch.from_numpy(x_train)
    per_epoch = len(x_train) // batch_size
    epochs = max(1, steps // per_epoch)
    rng = np.random.default_rng(seed)
    times = []
    for _ in range(epochs):
        order = torch.from_numpy(rng.permutation(len(x_train)))
        for index in range(per_epoch):
            step_start = time.perf_counter()
            batch = data[order[index * batch_size : (index + 1) * batch_size]]
            loss = -log_prob(batch).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            times.append(time.perf_counter() - step_start)
    with torch.no_grad():
        nll = float(-log_prob(torch.from_numpy(x_test)).mean())
    return {"nll": nll, "ms_per_step": 1e3 * float(np.mean(times[per_epoch:]))}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=toy.TOY_DATASETS)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--torch-threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    args = parser.parse_args()
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    settings = (args.steps, args.batch_size, args.learning_rate, args.seed)
    print(f"backend {keras.backend.backend()}, torch threads {torch.get_num_threads()}, "
          f"{args.steps} steps of batch {args.batch_size}, Adam {args.learning_rate}")  # fmt: skip
    print(f"{'model':8} {'data':16} {'optimum':>8} {'ours NLL':>9} {'peer':>10} {'peer NLL':>9} "
          f"{'ours ms':>8} {'peer ms':>8} {'peer/ours':>9}")  # fmt: skip
    for name in args.datasets:
        x_train = ak.data.load(name, split="train", with_labels=False)
        x_test = ak.data.load(name, split="test", with_labels=False)
        optimum = toy.entropy(name)
        shown = optimum if optimum is not None else float("nan")
        for model in args.models:
            build_ours, build_peer, peer_name = MODELS[model]
            mine = ours(build_ours, x_train, x_test, *settings)
            theirs = peer(build_peer, x_train, x_test, *settings)
            ratio = theirs["ms_per_step"] / mine["ms_per_step"]
            print(f"{model:8} {name:16} {shown:8.3f} {mine['nll']:9.3f} {peer_name:>10} {theirs['nll']:9.3f} "
                  f"{mine['ms_per_step']:8.2f} {theirs['ms_per_step']:8.2f} {ratio:8.1f}x", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
