"""`StepTimer`: the wall time of each training step of `fit`, and the first step's loss."""

import time

import keras


class StepTimer(keras.callbacks.Callback):
    """Wall time of each training step until its loss reaches the host, and the first step's loss.

    Example:
    ```python
    timer = StepTimer()
    model.fit(x, epochs=1, batch_size=64, verbose=0, callbacks=[timer])
    statistics.mean(timer.times[2:]), timer.first_loss
    ```
    """

    def __init__(self):
        super().__init__()
        self.times, self.first_loss = [], None

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        loss = float(logs["loss"])  # waits for the step: asynchronous backends return before it ends
        self.times.append(time.perf_counter() - self._start)
        self.first_loss = loss if self.first_loss is None else self.first_loss
