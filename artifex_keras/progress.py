"""The progress bar of `generate`: a bar step per sampling step where loops step in Python, per batch elsewhere.

On PyTorch a compiled sampling call runs its `ops.fori_loop` as a Python
loop, so the sampling loop (`samplers.base.trajectory_loop`) ticks the bar
after every step. On JAX and TensorFlow the whole loop is one compiled call
and nothing runs on the host between its steps (a host callback inside the
compiled loop would cost a round trip per step), so the bar ticks once per
batch of samples. Either way the bar never enters a traced function, so the
samples are the same with and without it.

Example:
```python
with SamplingProgress(num_batches=len(chunks), enabled=True) as progress:
    for chunk in chunks:
        run(generator, *chunk)       # ticks once per loop step on PyTorch
        progress.batch_done()        # ticks once per batch on JAX and TensorFlow
```
"""

import contextvars

import keras

from artifex_keras.backend import LOOPS_RUN_IN_PYTHON

_ACTIVE = contextvars.ContextVar("sampling_progress", default=None)


class SamplingProgress:
    """A `keras.utils.Progbar` over one `generate` call, a context manager.

    While it is entered (on a backend whose loops step in Python), every
    sampling loop that starts ticks it once per step; the bar's length is
    `num_batches` times the first loop's steps. Where no loop ticked it,
    `batch_done` does, once per batch. Disabled, it shows nothing.

    Args:
        num_batches: compiled sampling calls the `generate` call makes.
        enabled: whether to show the bar.
    """

    def __init__(self, num_batches, enabled=True):
        self.num_batches = num_batches
        self.enabled = enabled
        self.bar = None
        self.per_step = False
        self._token = None

    def __enter__(self):
        if self.enabled and LOOPS_RUN_IN_PYTHON:
            self._token = _ACTIVE.set(self)
        return self

    def __exit__(self, *exception):
        if self._token is not None:
            _ACTIVE.reset(self._token)
            self._token = None
        return False

    def loop_started(self, steps):
        """A sampling loop of `steps` steps starts; the first one sizes the bar."""
        if self.bar is None:
            self.per_step = True
            # Each step is a network evaluation: refresh the bar at every one.
            self.bar = keras.utils.Progbar(self.num_batches * steps, interval=0.0, unit_name="step")

    def loop_step(self):
        """One step of a sampling loop is done."""
        self.bar.add(1)

    def batch_done(self):
        """One compiled sampling call is done: a bar step, unless its loop steps ticked the bar."""
        if not self.enabled or self.per_step:
            return
        if self.bar is None:
            self.bar = keras.utils.Progbar(self.num_batches, interval=0.0, unit_name="batch")
        self.bar.add(1)


def observed_loop_body(steps, body):
    """`body(index, carry)` of a `steps`-step loop, ticking the active `SamplingProgress` after each step.

    `body` itself when no bar is active: always on JAX and TensorFlow, so
    nothing changes in their traced loops.
    """
    progress = _ACTIVE.get()
    if progress is None:
        return body
    progress.loop_started(steps)

    def ticking(index, carry):
        carry = body(index, carry)
        progress.loop_step()
        return carry

    return ticking
