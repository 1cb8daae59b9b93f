"""Bijector checks: exact invertibility both ways, and log-determinants against the autodiff Jacobian.

A bijector has `forward(x, context=None) -> (y, log_det)` and
`inverse(y, context=None) -> (x, log_det)`, with one log-determinant per
example (`log |det dy/dx|` for `forward`, `log |det dx/dy|` for `inverse`).
"""

import keras
import numpy as np
from keras import ops

from artifex_keras.backend import input_gradient


def _call(method, value, context):
    return method(value) if context is None else method(value, context=context)


def _numpy(value):
    return np.array(keras.ops.convert_to_numpy(ops.stop_gradient(ops.convert_to_tensor(value))), dtype=np.float64)


def jacobian(fn, x):
    """`(batch, D, D)` Jacobians of a per-example map `fn` at `x` `(batch, ...)`, flattened, by autodiff.

    Row `i` is the input gradient of output `i` summed over the batch, which
    is each example's own gradient because examples do not interact.
    """
    x = ops.convert_to_tensor(x)
    batch, size = x.shape[0], int(np.prod(x.shape[1:]))
    rows = []
    for index in range(size):
        gradient = input_gradient(lambda t, index=index: ops.reshape(fn(t), (batch, size))[:, index], x)
        rows.append(_numpy(ops.reshape(gradient, (batch, size))))
    return np.stack(rows, axis=1)


def check_bijector(bijector, x, context=None, atol=1e-5, log_det_atol=1e-4, jacobian_check=True):
    """Round trips within `atol` both ways; log-determinants agree with each other and with the Jacobian.

    Args:
        bijector: the bijector under test.
        x: a batch of inputs in the bijector's domain (keep the event small:
            the Jacobian costs one gradient per dimension).
        context: the conditioning input of a conditional bijector, or None.
        jacobian_check: compare `log_det` with `log |det J|` from autodiff.
    """
    y, log_det = _call(bijector.forward, x, context)
    x_back, inverse_log_det = _call(bijector.inverse, y, context)
    np.testing.assert_allclose(_numpy(x_back), _numpy(x), atol=atol, rtol=0, err_msg="inverse(forward(x)) != x")
    y_back, _ = _call(bijector.forward, x_back, context)
    np.testing.assert_allclose(_numpy(y_back), _numpy(y), atol=atol, rtol=0, err_msg="forward(inverse(y)) != y")
    assert tuple(log_det.shape) == (x.shape[0],), f"one log-determinant per example, got shape {log_det.shape}"
    np.testing.assert_allclose(_numpy(inverse_log_det), -_numpy(log_det), atol=log_det_atol, rtol=0,
                               err_msg="inverse log_det != -forward log_det")  # fmt: skip
    if jacobian_check:
        _, autodiff = np.linalg.slogdet(jacobian(lambda t: _call(bijector.forward, t, context)[0], x))
        np.testing.assert_allclose(_numpy(log_det), autodiff, atol=log_det_atol, rtol=0,
                                   err_msg="log_det != log|det J|")  # fmt: skip
