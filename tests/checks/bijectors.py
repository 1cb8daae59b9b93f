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


def jacobian(fn, x, context=None):
    """`(batch, D, D)` Jacobians of a per-example map `fn` at `x` `(batch, ...)`, flattened, by autodiff.

    One backward pass: the batch is copied `D` times and output `i` of copy
    `i` is summed, so the input gradient of copy `i` is row `i` of each
    example's Jacobian (examples do not interact; `check_batch_independence`
    checks that). With `context`, `fn(t, context)` gets the context copied alike.
    """
    x = ops.convert_to_tensor(x)
    batch, size = x.shape[0], int(np.prod(x.shape[1:]))
    tiled = ops.reshape(ops.broadcast_to(x[None], (size, *x.shape)), (size * batch, *x.shape[1:]))
    selector = ops.convert_to_tensor(np.repeat(np.eye(size, dtype="float32"), batch, axis=0))
    if context is not None:
        context = ops.convert_to_tensor(context)
        context = ops.reshape(ops.broadcast_to(context[None], (size, *context.shape)), (size * batch, -1))

    def selected(t):
        out = fn(t) if context is None else fn(t, context)
        return ops.sum(ops.reshape(out, (size * batch, size)) * selector, axis=1)

    gradient = _numpy(ops.reshape(input_gradient(selected, tiled), (size, batch, size)))
    return np.transpose(gradient, (1, 0, 2))


def check_bijector(bijector, x, context=None, atol=1e-5, log_det_atol=1e-4, jacobian_check=True, y=None):
    """Round trips within `atol` both ways; log-determinants agree with each other and with the Jacobian.

    Also: a batch gives what its examples give one at a time, and
    `from_config(get_config())` with the same weights computes the same map.

    Args:
        bijector: the bijector under test.
        x: a batch of inputs in the bijector's domain (keep the event small:
            the Jacobian costs one gradient per dimension).
        context: the conditioning input of a conditional bijector, or None.
        jacobian_check: compare `log_det` with `log |det J|` from autodiff.
        y: a batch of outputs not computed from `x` (e.g. base-distribution
            samples) for `forward(inverse(y)) == y`; default: `forward(x)`.
    """
    y_of_x, log_det = _call(bijector.forward, x, context)
    x_back, inverse_log_det = _call(bijector.inverse, y_of_x, context)
    np.testing.assert_allclose(_numpy(x_back), _numpy(x), atol=atol, rtol=0, err_msg="inverse(forward(x)) != x")
    y = y_of_x if y is None else y
    x_of_y, log_det_of_y = _call(bijector.inverse, y, context)
    y_back, forward_log_det_of_y = _call(bijector.forward, x_of_y, context)
    np.testing.assert_allclose(_numpy(y_back), _numpy(y), atol=atol, rtol=0, err_msg="forward(inverse(y)) != y")
    check_batch_independence(bijector, x, context)
    if isinstance(bijector, keras.layers.Layer):
        check_bijector_config(bijector, x, context)
    assert tuple(log_det.shape) == (x.shape[0],), f"one log-determinant per example, got shape {log_det.shape}"
    np.testing.assert_allclose(_numpy(inverse_log_det), -_numpy(log_det), atol=log_det_atol, rtol=0,
                               err_msg="inverse log_det != -forward log_det")  # fmt: skip
    np.testing.assert_allclose(_numpy(log_det_of_y), -_numpy(forward_log_det_of_y), atol=log_det_atol, rtol=0,
                               err_msg="inverse log_det at y != -forward log_det at inverse(y)")  # fmt: skip
    assert tuple(x_of_y.shape) == tuple(x.shape), "inverse must return inputs of the forward's input shape"
    if jacobian_check:
        _, autodiff = np.linalg.slogdet(jacobian(lambda t, c=None: _call(bijector.forward, t, c)[0], x, context))
        np.testing.assert_allclose(_numpy(log_det), autodiff, atol=log_det_atol, rtol=0,
                                   err_msg="log_det != log|det J|")  # fmt: skip


def max_round_trip_error(bijector, x, context=None):
    """`max |inverse(forward(x)) - x|`, for reporting."""
    y, _ = _call(bijector.forward, x, context)
    x_back, _ = _call(bijector.inverse, y, context)
    return float(np.max(np.abs(_numpy(x_back) - _numpy(x))))


def check_batch_independence(bijector, x, context=None, atol=1e-5):
    """Examples do not interact: the first two examples alone map as they do within the batch."""
    y, log_det = _call(bijector.forward, x, context)
    part = None if context is None else context[:2]
    y_part, log_det_part = _call(bijector.forward, x[:2], part)
    np.testing.assert_allclose(_numpy(y_part), _numpy(y)[:2], atol=atol, rtol=0, err_msg="batch changes outputs")
    np.testing.assert_allclose(_numpy(log_det_part), _numpy(log_det)[:2], atol=atol, rtol=0,
                               err_msg="batch changes log_det")  # fmt: skip


def check_bijector_config(bijector, x, context=None, atol=1e-6):
    """`type(b).from_config(b.get_config())` built for the same shape, with the same weights, is the same map."""
    clone = type(bijector).from_config(bijector.get_config())
    clone.build_for(tuple(x.shape[1:]))
    assert [tuple(w.shape) for w in clone.weights] == [tuple(w.shape) for w in bijector.weights]
    clone.set_weights(bijector.get_weights())
    y, log_det = _call(bijector.forward, x, context)
    y_clone, log_det_clone = _call(clone.forward, x, context)
    np.testing.assert_allclose(_numpy(y_clone), _numpy(y), atol=atol, rtol=0, err_msg="from_config changes the map")
    np.testing.assert_allclose(_numpy(log_det_clone), _numpy(log_det), atol=atol, rtol=0)
