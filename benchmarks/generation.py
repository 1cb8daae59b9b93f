"""Generation speed of the autoregressive models: the KV cache of TransformerLM and WaveNet's fast path.

Both models draw the same samples with and without their cache (the tests
check it token for token); this times the two paths in one process on the
active Keras backend. Each call is made once to compile, then timed
`--repeats` times; the median is reported with the speed-up.

* TransformerLM (byte tokens, context 256, 4 layers of width 128): `generate`
  of `--texts` texts of 256 tokens from a 6-token prompt, greedy.
* WaveNet (the `wavenet_speech` configuration: 10 layers, dilations 1..512,
  32 residual and 64 skip channels) on `--audio-length` samples: `generate`
  of 2 waveforms.

Usage (from the repository root):

    PYTHONPATH=. python benchmarks/generation.py
    PYTHONPATH=. python benchmarks/generation.py --audio-length 2048 --repeats 5
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402

import artifex_keras as ak  # noqa: E402
from artifex_keras.backend import device_name  # noqa: E402


def timed(call, repeats):
    call()  # compile
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=8)
    parser.add_argument("--audio-length", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"backend {keras.backend.backend()} on {device_name()}")

    lm = ak.models.TransformerLM(tokenizer="byte", context_length=256, embedding_dim=128, num_layers=4, num_heads=4,
                                 hidden_dim=512, seed=0)  # fmt: skip
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


if __name__ == "__main__":
    main()
