"""Apply a backend function over NumPy inputs in batches."""

import keras
import numpy as np


def map_batches(fn, batch_size, *arrays):
    """Call `fn(*batches)` on consecutive slices of `arrays`; concatenate NumPy outputs.

    An argument may be None (passed through as None). When `fn` returns a
    tuple, a tuple of concatenated arrays comes back.

    Example:
    ```python
    means, log_vars = map_batches(model.posterior, 512, x, None)
    ```
    """
    length = len(next(a for a in arrays if a is not None))
    outputs = []
    for start in range(0, length, batch_size):
        stop = start + batch_size
        result = fn(*(None if a is None else a[start:stop] for a in arrays))
        outputs.append(result if isinstance(result, (tuple, list)) else (result,))
    merged = tuple(
        np.concatenate([keras.ops.convert_to_numpy(o[i]) for o in outputs]) for i in range(len(outputs[0]))
    )
    return merged if len(merged) > 1 else merged[0]
