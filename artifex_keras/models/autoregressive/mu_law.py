"""Mu-law companding: audio in [-1, 1] to `channels` integer codes and back (ITU-T G.711, as in WaveNet).

Example:
```python
codes = mu_law_encode(waveform, channels=256)    # int32 in [0, 255]; silence is code 128
waveform = mu_law_decode(codes, channels=256)    # float32 in [-1, 1]
```
"""

from keras import ops


def mu_law_encode(x, channels=256):
    """Int32 codes in `[0, channels - 1]` of `x` in [-1, 1] (values outside are clipped)."""
    mu = float(channels - 1)
    x = ops.clip(ops.cast(x, "float32"), -1.0, 1.0)
    compressed = ops.sign(x) * ops.log1p(mu * ops.abs(x)) / ops.log1p(mu)
    return ops.cast(ops.floor((compressed + 1.0) / 2.0 * mu + 0.5), "int32")


def mu_law_decode(codes, channels=256):
    """Float32 samples in [-1, 1] of integer `codes` (the centre of each code's interval)."""
    mu = float(channels - 1)
    compressed = 2.0 * ops.cast(codes, "float32") / mu - 1.0
    return ops.sign(compressed) * ops.expm1(ops.abs(compressed) * ops.log1p(mu)) / mu
