"""Thread limits and CPU time for the benchmark scripts: import this before any numeric library.

`--threads N` caps the intra-op threads of XLA, TensorFlow and PyTorch, so
ours and a peer are compared on the same cores while other work shares the
CPU; CPU time is far less sensitive than wall time to such work.

Example:
```python
from benchmarks import threads

if __name__ == "__main__":
    threads.limit_from_argv(sys.argv[1:])   # before `import keras`, `import torch`
...
torch.set_num_threads(args.threads)          # torch reads its own count in `main`
```
"""

import argparse
import os


def requested(argv):
    """`--threads N` from the command line, or None."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--threads", type=int, default=None)
    return parser.parse_known_args(argv)[0].threads


def limit_from_argv(argv):
    """`limit(N)` for `--threads N` when it is given and positive."""
    count = requested(argv) or 0
    if count > 0:
        limit(count)


def limit(count):
    """Cap XLA's, TensorFlow's and OpenMP's intra-op threads at `count` (read when each library starts)."""
    flags = f"--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads={count}"
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flags}".strip()
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
        os.environ[name] = str(count)


def cpu_seconds():
    """CPU time of this process, all threads."""
    times = os.times()
    return times.user + times.system
