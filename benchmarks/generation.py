"""Autoregressive models: generation with and without caches, and training steps against plain PyTorch.

Generation (`--skip-generation` leaves it out): both models draw the same
samples with and without their cache (the tests check it token for token);
this times the two paths in one process on the active Keras backend. Each
call is made once to compile, then timed `--repeats` times; the median is
reported with the speed-up.

* TransformerLM (byte tokens, context 256, 4 layers of width 128): `generate`
  of `--texts` texts of 256 tokens from a 6-token prompt, greedy.
* WaveNet (the `wavenet_speech` configuration: 10 layers, dilations 1..512,
  32 residual and 64 skip channels) on `--audio-length` samples: `generate`
  of 2 waveforms.

Training (`--skip-training` leaves it out): our training step against the
same network written the usual PyTorch way, in the same process, on the same
data, with the same optimizer (Adam, Keras' epsilon 1e-7) and the same
initialisation (Glorot-uniform kernels, zero biases, uniform(-0.05, 0.05)
embeddings, as Keras); the script asserts equal parameter counts.

* PixelCNN (`filters=64, num_layers=6, kernel_size=5`: gated vertical and
  horizontal stacks, masked 1xk horizontal convolutions) with a 256-way
  softmax over the 8-bit levels of Fashion-MNIST train images, Adam 1e-3,
  batch 32. Loss: nats per image (reported per pixel).
* TransformerLM (as above: pre-norm blocks, rotary positions, GELU MLP;
  PyTorch attends with `F.scaled_dot_product_attention(is_causal=True)`) on
  windows of 256 bytes of the Shakespeare train split, Adam 1e-3 (the
  model's default), batch 16. Loss: nats per byte.

Ours runs `model.fit` (one epoch of `--training-steps` batches per repeat,
shuffled); PyTorch an eager `zero_grad / backward / step` loop over a random
permutation of the same images or windows. Both are warmed up (ours: a
2-step `fit` that compiles), then timed `--repeats` times, round-robin; each
step is timed from its start until its loss is on the host (a callback on our
side), and the median over repeats of the mean ms/step is reported, next to
the CPU time of the process (all threads) per step, which other jobs on the
CPU disturb far less. The ratio is torch ms/step / ours: above 1 means ours
is faster. To check both sides
train the same model, the script prints each side's first-step loss (about
log 256 = 5.55 nats per pixel or byte) and the held-out NLL after all steps
(64 Fashion-MNIST test images; 16 windows of the Shakespeare validation split).

Usage (from the repository root):

    PYTHONPATH=. python benchmarks/generation.py
    PYTHONPATH=. python benchmarks/generation.py --skip-training --audio-length 2048 --repeats 5
    PYTHONPATH=. python benchmarks/generation.py --skip-generation --training-steps 50 --threads 1
    KERAS_BACKEND=torch PYTHONPATH=. python benchmarks/generation.py --skip-generation --threads 1
"""

import argparse
import math
import os
import statistics
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


from benchmarks import threads  # noqa: E402
from benchmarks.threads import cpu_seconds  # noqa: E402

if __name__ == "__main__":
    threads.limit_from_argv(sys.argv[1:])

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import artifex_keras as ak  # noqa: E402
from artifex_keras.backend import device_name  # noqa: E402
from benchmarks.step_timer import StepTimer  # noqa: E402

SEED = 0
WARMUP_STEPS = 2
LEVELS = 256
PIXELCNN = {"input_shape": (28, 28, 1), "filters": 64, "num_layers": 6, "kernel_size": 5}
LM = {"tokenizer": "byte", "context_length": 256, "embedding_dim": 128, "num_layers": 4, "num_heads": 4,
      "hidden_dim": 512}  # fmt: skip
LEARNING_RATE = 1e-3  # Adam: ours' default for both models
EPSILON = 1e-7  # keras.optimizers.Adam's default, given to PyTorch too


# Generation ----------------------------------------------------------------------
def timed(call, repeats):
    call()  # compile
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def generation(args):
    lm = ak.models.TransformerLM(**LM, seed=0)
    tokens = args.texts * (256 - 6)
    rows = []
    for use_cache in (True, False):
        seconds = timed(
            lambda use_cache=use_cache: lm.generate(args.texts, prompt="ROMEO:", sampler="greedy", seed=0,
                                                    use_cache=use_cache), args.repeats)  # fmt: skip
        rows.append((f"TransformerLM use_cache={use_cache}", tokens / seconds, "tokens/s"))
    wavenet = ak.models.WaveNet(input_shape=(args.audio_length,), residual_channels=32, skip_channels=64, seed=0)
    for use_cache in (True, False):
        seconds = timed(lambda use_cache=use_cache: wavenet.generate(2, seed=0, use_cache=use_cache), args.repeats)
        rows.append((f"WaveNet use_cache={use_cache}", 2 * args.audio_length / seconds, "samples/s"))
    for name, rate, unit in rows:
        print(f"{name:32s} {rate:12.1f} {unit}")
    print(f"KV cache speed-up: {rows[0][1] / rows[1][1]:.1f}x; WaveNet fast path: {rows[2][1] / rows[3][1]:.1f}x")


# Plain PyTorch networks ------------------------------------------------------------
def init_like_keras(module):
    """Glorot-uniform kernels, zero biases, uniform(-0.05, 0.05) embeddings: Keras' defaults."""
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.Embedding):
            nn.init.uniform_(layer.weight, -0.05, 0.05)
    return module


def gate(x):
    a, b = x.chunk(2, dim=1)
    return torch.tanh(a) * torch.sigmoid(b)


class TorchGatedLayer(nn.Module):
    """Vertical stack (rows above, shifted down one row into the horizontal stack) and masked horizontal stack."""

    def __init__(self, channels, filters, kernel_size, first):
        super().__init__()
        self.half, self.first = kernel_size // 2, first
        self.vertical = nn.Conv2d(channels, 2 * filters, (self.half + 1, kernel_size))
        self.vertical_to_horizontal = nn.Conv2d(2 * filters, 2 * filters, 1)
        self.horizontal = nn.Conv2d(channels, 2 * filters, (1, kernel_size), padding=(0, self.half))
        mask = torch.zeros(1, 1, 1, kernel_size)
        mask[..., : self.half + (0 if first else 1)] = 1.0  # mask A hides the centre, mask B keeps it
        self.register_buffer("mask", mask)
        self.horizontal_output = nn.Conv2d(filters, filters, 1)

    def forward(self, vertical, horizontal):
        v = self.vertical(F.pad(vertical, (self.half, self.half, self.half, 0)))
        shifted = F.pad(v, (0, 0, 1, 0))[:, :, :-1]
        masked = F.conv2d(horizontal, self.horizontal.weight * self.mask, self.horizontal.bias, padding=(0, self.half))
        h = self.horizontal_output(gate(masked + self.vertical_to_horizontal(shifted)))
        return gate(v), h if self.first else horizontal + h


class TorchPixelCNN(nn.Module):
    """Gated PixelCNN over 8-bit levels; `forward(levels)` returns logits `(batch, 256, H, W)`."""

    def __init__(self, filters, num_layers, kernel_size, channels=1):
        super().__init__()
        self.gated = nn.ModuleList(
            TorchGatedLayer(channels if index == 0 else filters, filters, kernel_size, first=index == 0)
            for index in range(num_layers)
        )
        self.output_hidden = nn.Conv2d(filters, filters, 1)
        self.output_logits = nn.Conv2d(filters, LEVELS, 1)
        init_like_keras(self)

    def forward(self, levels):
        vertical = horizontal = levels.float() / (LEVELS - 1) * 2.0 - 1.0
        for layer in self.gated:
            vertical, horizontal = layer(vertical, horizontal)
        return self.output_logits(F.relu(self.output_hidden(horizontal)))


def pixelcnn_loss(net, levels):
    """Nats per image, summed over pixels and averaged over the batch (ours' objective)."""
    return F.cross_entropy(net(levels), levels[:, 0].long(), reduction="sum") / levels.shape[0]


def rotate(x, max_wavelength=10000.0):
    """Rotary embedding of `x` `(batch, heads, length, head_dim)`: halves rotated as pairs."""
    half = x.shape[-1] // 2
    frequencies = max_wavelength ** (-torch.arange(half, dtype=torch.float32, device=x.device) * 2.0 / x.shape[-1])
    angles = torch.arange(x.shape[-2], dtype=torch.float32, device=x.device)[:, None] * frequencies
    cos, sin = angles.cos(), angles.sin()
    first, second = x[..., :half], x[..., half:]
    return torch.cat([first * cos - second * sin, first * sin + second * cos], dim=-1)


class TorchBlock(nn.Module):
    """Pre-norm causal self-attention with rotary positions, then a pre-norm GELU MLP."""

    def __init__(self, width, num_heads, hidden_dim):
        super().__init__()
        self.num_heads = num_heads
        self.attention_norm = nn.LayerNorm(width, eps=1e-5)
        self.query = nn.Linear(width, width, bias=False)
        self.key = nn.Linear(width, width, bias=False)
        self.value = nn.Linear(width, width, bias=False)
        self.attention_output = nn.Linear(width, width)
        self.mlp_norm = nn.LayerNorm(width, eps=1e-5)
        self.mlp_hidden = nn.Linear(width, hidden_dim)
        self.mlp_output = nn.Linear(hidden_dim, width)

    def forward(self, x):
        batch, length, width = x.shape
        h = self.attention_norm(x)

        def heads(projection):
            return projection(h).view(batch, length, self.num_heads, -1).transpose(1, 2)

        attended = F.scaled_dot_product_attention(rotate(heads(self.query)), rotate(heads(self.key)),
                                                  heads(self.value), is_causal=True)  # fmt: skip
        x = x + self.attention_output(attended.transpose(1, 2).reshape(batch, length, width))
        return x + self.mlp_output(F.gelu(self.mlp_hidden(self.mlp_norm(x))))


class TorchLM(nn.Module):
    """Decoder-only byte-level Transformer; `forward(ids)` returns next-token logits `(batch, length, 256)`."""

    def __init__(self, embedding_dim, num_layers, num_heads, hidden_dim, vocabulary_size=256):
        super().__init__()
        self.token_embedding = nn.Embedding(vocabulary_size, embedding_dim)
        self.blocks = nn.ModuleList(TorchBlock(embedding_dim, num_heads, hidden_dim) for _ in range(num_layers))
        self.final_norm = nn.LayerNorm(embedding_dim, eps=1e-5)
        self.head = nn.Linear(embedding_dim, vocabulary_size)
        init_like_keras(self)

    def forward(self, ids):
        x = self.token_embedding(ids)
        for block in self.blocks:
            x = block(x)
        return self.head(self.final_norm(x))


def lm_loss(net, ids):
    """Nats per predicted byte: every token of the window given the ones before it."""
    logits = net(ids[:, :-1])
    return F.cross_entropy(logits.flatten(0, 1), ids[:, 1:].flatten())


# Training loops ------------------------------------------------------------------------




class Ours:
    def __init__(self, model, x, batch_size, per_unit):
        self.name = f"artifex_keras ({keras.backend.backend()})"
        self.model, self.x, self.batch_size, self.per_unit = model, x, batch_size, per_unit
        model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE, epsilon=EPSILON))

    def parameters(self):
        return sum(int(np.prod(v.shape)) for v in self.model.trainable_variables)

    def run(self, steps):
        """`(wall, cpu)` seconds per step of one `fit` epoch of `steps` batches, and its first loss per unit."""
        timer = StepTimer()
        cpu = cpu_seconds()
        self.model.fit(self.x[: steps * self.batch_size], epochs=1, batch_size=self.batch_size, verbose=0,
                       callbacks=[timer])  # fmt: skip
        return statistics.mean(timer.times), (cpu_seconds() - cpu) / steps, timer.first_loss / self.per_unit


class Plain:
    def __init__(self, net, loss, x, batch_size, per_unit, device):
        self.name = f"plain torch eager ({device})"
        self.net, self.loss, self.batch_size, self.per_unit = net.to(device), loss, batch_size, per_unit
        self.x = torch.from_numpy(x).to(device)
        self.optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE, eps=EPSILON)

    def parameters(self):
        return sum(p.numel() for p in self.net.parameters())

    def run(self, steps):
        self.net.train()
        order = torch.randperm(steps * self.batch_size, device=self.x.device)
        times, first, cpu = [], None, cpu_seconds()
        for index in range(steps):
            batch = self.x[order[index * self.batch_size : (index + 1) * self.batch_size]]
            start = time.perf_counter()
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.loss(self.net, batch)
            loss.backward()
            self.optimizer.step()
            value = loss.item()  # waits for the device, as ours' logs do
            times.append(time.perf_counter() - start)
            first = value if first is None else first
        return statistics.mean(times), (cpu_seconds() - cpu) / steps, first / self.per_unit


def pixelcnn_pair(steps, batch_size, device):
    x = ak.data.load("fashion_mnist", split="train", with_labels=False, limit=steps * batch_size)
    x_eval = ak.data.load("fashion_mnist", split="test", with_labels=False, limit=64)
    pixels = int(np.prod(PIXELCNN["input_shape"]))
    ours = Ours(ak.models.PixelCNN(**PIXELCNN, seed=SEED), x, batch_size, pixels)

    def levels(images):  # NCHW uint8 levels round(255 x), as ours reads them
        return np.ascontiguousarray(np.round(images * (LEVELS - 1)).astype("uint8").transpose(0, 3, 1, 2))

    net = TorchPixelCNN(PIXELCNN["filters"], PIXELCNN["num_layers"], PIXELCNN["kernel_size"])
    plain = Plain(net, pixelcnn_loss, levels(x), batch_size, pixels, device)

    def ours_nll():
        return float(-ours.model.log_prob(x_eval).mean()) / pixels

    def plain_nll():
        with torch.no_grad():
            return float(pixelcnn_loss(net, torch.from_numpy(levels(x_eval)).to(device))) / pixels

    return "PixelCNN (Fashion-MNIST, nats/pixel)", ours, plain, ours_nll, plain_nll


def lm_pair(steps, batch_size, device):
    tokenizer = ak.tokenizers.get("byte")
    context = LM["context_length"]
    windows = ak.data.text_windows(tokenizer.encode(ak.data.load_text("shakespeare", split="train")), context)
    x = windows[: steps * batch_size]
    eval_text = ak.data.load_text("shakespeare", split="validation")[: 16 * context * 2]
    x_eval = ak.data.text_windows(tokenizer.encode(eval_text), context)[:16]
    ours = Ours(ak.models.TransformerLM(**LM, seed=SEED), x, batch_size, 1.0)
    net = TorchLM(LM["embedding_dim"], LM["num_layers"], LM["num_heads"], LM["hidden_dim"])
    plain = Plain(net, lm_loss, x.astype("int64"), batch_size, 1.0, device)

    def ours_nll():
        return float(-ours.model.log_prob(x_eval).sum()) / (x_eval.shape[0] * (context - 1))

    def plain_nll():
        with torch.no_grad():
            return float(lm_loss(net, torch.from_numpy(x_eval.astype("int64")).to(device)))

    return "TransformerLM (Shakespeare bytes, nats/byte)", ours, plain, ours_nll, plain_nll


def training(args):
    # The peer runs where ours does: on the GPU when the Keras backend computes on one.
    device = "cuda" if device_name() != "cpu" and torch.cuda.is_available() else "cpu"
    print(f"training: {args.training_steps} steps x {args.repeats} repeats after {WARMUP_STEPS} warm-up steps; "
          f"torch threads {torch.get_num_threads()}, plain torch on {device}")  # fmt: skip
    for build, batch_size in ((pixelcnn_pair, 32), (lm_pair, 16)):
        keras.utils.set_random_seed(SEED)
        torch.manual_seed(SEED)
        title, ours, plain, ours_nll, plain_nll = build(args.training_steps, batch_size, device)
        assert ours.parameters() == plain.parameters(), (title, ours.parameters(), plain.parameters())
        first = {impl.name: impl.run(WARMUP_STEPS)[2] for impl in (ours, plain)}  # ours compiles here
        times = {impl.name: [] for impl in (ours, plain)}
        cpu = {impl.name: [] for impl in (ours, plain)}
        for _ in range(args.repeats):
            for impl in (ours, plain):  # round-robin: drift of the machine hits both alike
                seconds, cpu_per_step, _ = impl.run(args.training_steps)
                times[impl.name].append(seconds)
                cpu[impl.name].append(cpu_per_step)
        nll = {ours.name: ours_nll(), plain.name: plain_nll()}
        ms = {name: 1000.0 * statistics.median(values) for name, values in times.items()}
        cpu_ms = {name: 1000.0 * statistics.median(values) for name, values in cpu.items()}
        print(f"{title}, batch {batch_size}, {ours.parameters():,} parameters on both sides")
        print(f"  {'implementation':28s} {'ms/step':>9s} {'cpu ms/step':>12s} {'first-step loss':>16s} "
              f"{'held-out NLL':>13s}")  # fmt: skip
        for name in ms:
            print(f"  {name:28s} {ms[name]:9.1f} {cpu_ms[name]:12.1f} {first[name]:16.3f} {nll[name]:13.3f}")
        print(f"  ratio torch / ours = {ms[plain.name] / ms[ours.name]:.2f} (cpu time: "
              f"{cpu_ms[plain.name] / cpu_ms[ours.name]:.2f}; above 1: ours faster); "
              f"log 256 = {math.log(LEVELS):.3f}")  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=8)
    parser.add_argument("--audio-length", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats of every row (the median is reported)")
    parser.add_argument("--skip-generation", action="store_true", help="leave out the generation timings")
    parser.add_argument("--skip-training", action="store_true", help="leave out the training-step comparison")
    parser.add_argument("--training-steps", type=int, default=50, help="training steps per timed repeat")
    parser.add_argument("--threads", type=int, default=None, metavar="N", help="cap every library at N threads")
    args = parser.parse_args()
    for name in ("texts", "audio_length", "repeats", "training_steps"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer")
    if args.threads is not None:
        if args.threads < 1:
            parser.error("--threads must be a positive integer")
        torch.set_num_threads(args.threads)
    print(f"backend {keras.backend.backend()} on {device_name()}")
    if not args.skip_generation:
        generation(args)
    if not args.skip_training:
        training(args)


if __name__ == "__main__":
    main()
