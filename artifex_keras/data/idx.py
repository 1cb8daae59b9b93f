"""Reader for the gzip-compressed IDX files that MNIST-style datasets ship as.

An IDX file starts with a big-endian header: two zero bytes, a type code
(0x08 = unsigned byte), the number of dimensions, then one 4-byte size per
dimension. Image files are 3-D (magic 2051, 16-byte header), label files 1-D
(magic 2049, 8-byte header). The values follow the header.
"""

import gzip
import math
import struct
import zlib

import numpy as np

_UNSIGNED_BYTE = 0x08


def read_idx(path, ndim):
    """Read a gzip-compressed unsigned-byte IDX file with `ndim` dimensions.

    Returns a read-only uint8 array. A file that is not gzip, has the wrong
    magic number, or whose size disagrees with its header raises ValueError
    naming the file.

    Example:
    ```python
    labels = read_idx("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz", ndim=1)
    labels.shape  # (10000,)
    ```
    """
    try:
        with gzip.open(path, "rb") as stream:
            data = stream.read()
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise ValueError(f"read_idx: {str(path)!r} is not a readable gzip file: {err}") from err
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise _corrupt(path, f"it holds {len(data)} bytes, less than the {header_size}-byte header")
    zeros, type_code, dims = struct.unpack(">HBB", data[:4])
    if (zeros, type_code, dims) != (0, _UNSIGNED_BYTE, ndim):
        magic = int.from_bytes(data[:4], "big")
        expected = (_UNSIGNED_BYTE << 8) | ndim
        raise _corrupt(path, f"magic number {magic}, expected {expected} (unsigned bytes, {ndim}-D)")
    shape = struct.unpack(f">{ndim}I", data[4:header_size])
    if len(data) - header_size != math.prod(shape):
        raise _corrupt(
            path, f"its header announces shape {shape} ({math.prod(shape)} bytes) but {len(data) - header_size} follow"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(shape)


def _corrupt(path, reason):
    return ValueError(f"read_idx: {str(path)!r} is not a valid IDX file: {reason}")
