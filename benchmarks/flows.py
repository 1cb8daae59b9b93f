"""Neural spline flow on 2-D toy densities: artifex_keras vs zuko, same architecture, data and optimizer.

Both libraries fit an autoregressive neural spline flow on 2-D data with 4
transforms, MADE conditioners with hidden layers [64, 64], 8 spline bins on
[-5, 5], alternating natural/reversed orderings and a standard normal base
(zuko's `NSF(2, transforms=4, hidden_features=[64, 64])`). Each trains for the
same number of steps of the same batch size with Adam (lr 1e-3) on the same
fixed training split (`artifex_keras.data.load(name)`, 51,200 points,
reshuffled every pass), in the same process; then the test split's mean
negative log-likelihood (nats) is measured and set next to the optimum
(the data's entropy, `artifex_keras.data.toy.entropy`). The step time is the
mean wall time of the training steps after the first pass over the data
(compilation excluded).

```bash
PYTHONPATH=. python benchmarks/flows.py                   # ours on JAX (the default), 5000 steps of 512
PYTHONPATH=. python benchmarks/flows.py --steps 500       # a quick look
```
"""

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import zuko  # noqa: E402

import artifex_keras as ak  # noqa: E402
from artifex_keras.data import toy  # noqa: E402
from artifex_keras.models.flows import NeuralSplineFlow  # noqa: E402

DATASETS = ("eight_gaussians", "checkerboard")


class _StepTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.times = []

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter() - self._start)


def ours(x_train, x_test, steps, batch_size, learning_rate, seed):
    keras.utils.set_random_seed(seed)
    model = NeuralSplineFlow(input_shape=(2,), num_transforms=4, hidden_units=(64, 64), num_bins=8, bound=5.0,
                             seed=seed)  # fmt: skip
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    per_epoch = len(x_train) // batch_size
    epochs = max(1, steps // per_epoch)
    timer = _StepTimer()
    start = time.perf_counter()
    model.fit(x_train[: per_epoch * batch_size], epochs=epochs, batch_size=batch_size, verbose=0, callbacks=[timer])
    seconds = time.perf_counter() - start
    nll = float(-model.log_prob(x_test).mean())
    return {"nll": nll, "ms_per_step": 1e3 * float(np.mean(timer.times[per_epoch:])), "train_seconds": seconds,
            "steps": epochs * per_epoch}  # fmt: skip


def reference(x_train, x_test, steps, batch_size, learning_rate, seed):
    torch.manual_seed(seed)
    flow = zuko.flows.NSF(2, transforms=4, hidden_features=[64, 64])
    optimizer = torch.optim.Adam(flow.parameters(), lr=learning_rate)
    data = torch.from_numpy(x_train)
    per_epoch = len(x_train) // batch_size
    epochs = max(1, steps // per_epoch)
    rng = np.random.default_rng(seed)
    times = []
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.from_numpy(rng.permutation(len(x_train)))
        for index in range(per_epoch):
            step_start = time.perf_counter()
            batch = data[order[index * batch_size : (index + 1) * batch_size]]
            loss = -flow().log_prob(batch).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            times.append(time.perf_counter() - step_start)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        nll = float(-flow().log_prob(torch.from_numpy(x_test)).mean())
    return {"nll": nll, "ms_per_step": 1e3 * float(np.mean(times[per_epoch:])), "train_seconds": seconds,
            "steps": epochs * per_epoch}  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=toy.TOY_DATASETS)
    parser.add_argument("--torch-threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    args = parser.parse_args()
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    settings = (args.steps, args.batch_size, args.learning_rate, args.seed)
    print(f"backend {keras.backend.backend()}, torch threads {torch.get_num_threads()}, "
          f"{args.steps} steps of batch {args.batch_size}, Adam {args.learning_rate}")  # fmt: skip
    print(f"{'data':16} {'optimum':>8} {'ours NLL':>9} {'zuko NLL':>9} {'ours ms':>8} {'zuko ms':>8} {'ratio':>6}")
    for name in args.datasets:
        x_train = ak.data.load(name, split="train", with_labels=False)
        x_test = ak.data.load(name, split="test", with_labels=False)
        mine = ours(x_train, x_test, *settings)
        theirs = reference(x_train, x_test, *settings)
        optimum = toy.entropy(name)
        ratio = theirs["ms_per_step"] / mine["ms_per_step"]
        shown = optimum if optimum is not None else float("nan")
        print(f"{name:16} {shown:8.3f} {mine['nll']:9.3f} {theirs['nll']:9.3f} "
              f"{mine['ms_per_step']:8.2f} {theirs['ms_per_step']:8.2f} {ratio:5.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
