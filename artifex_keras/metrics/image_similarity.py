"""Full-reference image similarity per image pair: PSNR, SSIM and multi-scale SSIM.

Images are channels-last batches `(N, H, W, C)` in `[0, max_value]`; every
function returns one float64 value per pair, shape `(N,)`.

Example:
```python
from artifex_keras.metrics import ms_ssim, psnr, ssim

reconstructions = model.predict(x_test)
psnr(x_test, reconstructions).mean(), ssim(x_test, reconstructions).mean()
```
"""

import numbers

import numpy as np

from artifex_keras.metrics import _checks

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def psnr(a, b, max_value=1.0):
    """Peak signal-to-noise ratio `10 log10(max_value^2 / MSE)` per image, in dB (inf for identical images).

    Example:
    ```python
    psnr(x, x + 0.1)   # 20 dB for every image: MSE = 0.01
    ```

    Reference:
        Huynh-Thu and Ghanbari, "Scope of validity of PSNR in image/video quality
        assessment", Electronics Letters 2008.
    """
    a, b = _pair("psnr", a, b, channels_last=False)
    max_value = _checks.positive_number("psnr", "max_value", max_value)
    mse = np.mean(np.square(a - b).reshape(a.shape[0], -1), axis=1)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(max_value**2 / mse)


def ssim(a, b, max_value=1.0, filter_size=11, sigma=1.5, k1=0.01, k2=0.03):
    """Structural similarity per image: luminance, contrast and structure under a Gaussian window.

    Local statistics use a separable Gaussian window and valid filtering
    (no padding), as in the paper and `tf.image.ssim`; the map is averaged
    over positions and channels. An image smaller than the window along an
    axis uses a window as long as that axis (the Gaussian truncated there and
    renormalised), so even 1x1 images get a value.

    Args:
        a, b: images `(N, H, W, C)`.
        max_value: the dynamic range `L` (1 for [0, 1] images, 255 for 8-bit).
        filter_size: window side.
        sigma: window standard deviation, in pixels.
        k1, k2: stabilisers, `C1 = (k1 L)^2` and `C2 = (k2 L)^2`.

    Returns:
        float64 `(N,)`, 1 for identical images.

    Example:
    ```python
    ssim(x_test, reconstructions, max_value=1.0)
    ```

    Reference:
        Wang et al., "Image quality assessment: from error visibility to
        structural similarity", IEEE Trans. Image Processing 2004.
    """
    a, b, options = _ssim_inputs("ssim", a, b, max_value, filter_size, sigma, k1, k2)
    luminance, contrast_structure = _ssim_terms(a, b, *options)
    return np.mean(luminance * contrast_structure, axis=(1, 2, 3))


def ms_ssim(a, b, max_value=1.0, filter_size=11, sigma=1.5, k1=0.01, k2=0.03, weights=MS_SSIM_WEIGHTS):
    """Multi-scale SSIM: contrast-structure at each scale, luminance at the coarsest, weighted geometrically.

    `prod_j cs_j^w_j * l_M^w_M` over `M = len(weights)` scales, with 2x2
    average pooling between scales (an odd last row or column is dropped).
    Negative terms are clipped to 0 before the powers, as in `tf.image.ssim_multiscale`,
    so the result stays real. The coarsest scale must be at least
    `filter_size` pixels a side: 5 scales with an 11-pixel window need
    176x176 images; pass fewer `weights` for smaller ones (used as given,
    not renormalised).

    Args:
        a, b: images `(N, H, W, C)`.
        max_value, filter_size, sigma, k1, k2: as in `ssim`.
        weights: one exponent per scale, finest first; the paper's five by default.

    Returns:
        float64 `(N,)`, 1 for identical images.

    Example:
    ```python
    ms_ssim(x, y)                                          # 256x256 images, 5 scales
    ms_ssim(x, y, weights=(0.0448, 0.2856, 0.3001))        # 64x64 images, 3 scales
    ```

    Reference:
        Wang, Simoncelli and Bovik, "Multiscale structural similarity for image
        quality assessment", Asilomar 2003.
    """
    owner = "ms_ssim"
    a, b, options = _ssim_inputs(owner, a, b, max_value, filter_size, sigma, k1, k2)
    weights = _weights(owner, weights)
    filter_size = options[1]
    height, width = a.shape[1:3]
    side = min(height, width)
    scales = len(weights)
    needed = filter_size * 2 ** (scales - 1)
    if side < needed:
        fitting = int(np.floor(np.log2(side / filter_size))) + 1 if side >= filter_size else 0
        advice = f"pass at most {fitting} `weights`" if fitting else "pass a smaller `filter_size`"
        raise ValueError(
            f"{owner}: images of {height}x{width} are too small for {scales} scales with filter_size={filter_size}: "
            f"the coarsest scale must be at least {filter_size}x{filter_size}, which needs {needed}x{needed} "
            f"images; {advice}"
        )
    result = np.ones(a.shape[0])
    for scale, weight in enumerate(weights):
        luminance, contrast_structure = _ssim_terms(a, b, *options)
        last = scale == scales - 1
        term = np.mean(luminance * contrast_structure if last else contrast_structure, axis=(1, 2, 3))
        result *= np.maximum(term, 0.0) ** weight
        if not last:
            a, b = _average_pool(a), _average_pool(b)
    return result


def _ssim_terms(a, b, max_value, filter_size, sigma, k1, k2):
    """The two factors of SSIM (Wang et al. 2004, eq. 13 with C3 = C2 / 2): luminance and contrast-structure maps."""
    c1 = (k1 * max_value) ** 2
    c2 = (k2 * max_value) ** 2
    windows = [_gaussian_window(min(filter_size, size), sigma) for size in a.shape[1:3]]

    def blur(x):
        return _filter_valid(_filter_valid(x, windows[0], axis=1), windows[1], axis=2)

    mean_a, mean_b = blur(a), blur(b)
    variance_a = blur(a * a) - mean_a**2
    variance_b = blur(b * b) - mean_b**2
    covariance = blur(a * b) - mean_a * mean_b
    luminance = (2.0 * mean_a * mean_b + c1) / (mean_a**2 + mean_b**2 + c1)
    contrast_structure = (2.0 * covariance + c2) / (variance_a + variance_b + c2)
    return luminance, contrast_structure


def _gaussian_window(size, sigma):
    offsets = np.arange(size) - (size - 1) / 2.0
    window = np.exp(-0.5 * (offsets / sigma) ** 2)
    return window / window.sum()


def _filter_valid(x, window, axis):
    """Correlate `x` with a 1-D window along `axis`, keeping only full overlaps.

    A sum of shifted views: no copy of `x` per tap, unlike a sliding-window
    view multiplied by the window.
    """
    length = x.shape[axis] - window.shape[0] + 1
    result = np.zeros(x.shape[:axis] + (length,) + x.shape[axis + 1 :])
    for offset, tap in enumerate(window):
        shifted = x[(slice(None),) * axis + (slice(offset, offset + length),)]
        result += tap * shifted
    return result


def _average_pool(x):
    height, width = (x.shape[1] // 2) * 2, (x.shape[2] // 2) * 2
    x = x[:, :height, :width]
    return 0.25 * (x[:, 0::2, 0::2] + x[:, 1::2, 0::2] + x[:, 0::2, 1::2] + x[:, 1::2, 1::2])


def _pair(owner, a, b, channels_last=True):
    a = _checks.float_array(owner, "a", a)
    b = _checks.float_array(owner, "b", b)
    for argument, array in (("a", a), ("b", b)):
        if channels_last and array.ndim != 4:
            raise ValueError(
                f"{owner}: `{argument}` must be a batch of channels-last images (N, H, W, C), got shape {array.shape}; "
                "add a channel axis for grayscale"
            )
        if array.ndim < 2 or array.shape[0] == 0 or array.size == 0:
            raise ValueError(
                f"{owner}: `{argument}` must be a non-empty batch of images (N, ...), got shape {array.shape}"
            )
    if a.shape != b.shape:
        raise ValueError(f"{owner}: `a` and `b` must have the same shape, got {a.shape} and {b.shape}")
    return a, b


def _ssim_inputs(owner, a, b, max_value, filter_size, sigma, k1, k2):
    a, b = _pair(owner, a, b)
    options = (
        _checks.positive_number(owner, "max_value", max_value),
        _checks.positive_int(owner, "filter_size", filter_size),
        _checks.positive_number(owner, "sigma", sigma),
        _checks.positive_number(owner, "k1", k1),
        _checks.positive_number(owner, "k2", k2),
    )
    return a, b, options


def _weights(owner, weights):
    values = list(weights) if isinstance(weights, (list, tuple, np.ndarray)) else []
    valid = all(
        isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value) and value >= 0
        for value in values
    )
    if not values or not valid:
        raise ValueError(f"{owner}: `weights` must be a non-empty sequence of non-negative numbers, got {weights!r}")
    return [float(value) for value in values]
