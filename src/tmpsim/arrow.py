"""Arrow arrays built straight from NumPy buffers.

``pa.array`` on NumPy or Python values checks whether they are pandas objects, which imports
pandas (about 0.3 s); these helpers build the arrays from buffers and never import it.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def arrow_array(
    values: np.ndarray, type_: pa.DataType, valid: np.ndarray | None = None
) -> pa.Array:
    """A NumPy array as an Arrow array of ``type_`` (same width), nulls where ``valid`` is False.

    Booleans are packed into bits; other values are shared with NumPy, not copied.
    """
    values = np.ascontiguousarray(values)
    n = values.size
    if type_ == pa.bool_():
        data = pa.py_buffer(np.packbits(values.astype(np.bool_), bitorder="little"))
    else:
        if values.itemsize * 8 != type_.bit_width:
            raise TypeError(f"{values.dtype} values cannot be read as {type_}")
        data = pa.py_buffer(values)
    if valid is None:
        return pa.Array.from_buffers(type_, n, [None, data], null_count=0)
    bitmap = pa.py_buffer(np.packbits(np.asarray(valid, dtype=np.bool_), bitorder="little"))
    nulls = n - int(np.count_nonzero(valid))
    return pa.Array.from_buffers(type_, n, [bitmap, data], null_count=nulls)


def arrow_strings(values: list[str]) -> pa.Array:
    """A list of str as an Arrow string array."""
    encoded = [v.encode() for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    offsets[1:] = np.cumsum([len(b) for b in encoded], dtype=np.int64)
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    return pa.Array.from_buffers(pa.string(), len(encoded), buffers, null_count=0)
