"""``DistinctSketch``: a HyperLogLog distinct count written in numpy.

Why not DataSketches' ``hll_sketch``? Its Python binding takes one value per ``update`` call, and
a numeric feature can hold a million distinct values an hour: a Python loop over them would cost
more than all the other statistics together. Here a whole column is hashed with pandas'
vectorized ``hash_array`` (SipHash) for strings and a MurmurHash3 finaliser for numbers, the top
``lg_k`` bits pick a register, the leading-zero count of the remaining bits (+1) is the rank, and
``np.maximum.at`` keeps each register's maximum. Merging is the elementwise maximum, so it is
exact, associative and commutative.

The estimate is the standard HLL estimator ``alpha_m m^2 / sum(2^-M[j])`` with linear counting
``m ln(m / V)`` below ``2.5 m`` (``V`` empty registers); a 64-bit hash needs no large-range
correction. Its relative standard error is ``1.04 / sqrt(2**lg_k)``: 1.6% at the default
``lg_k = 12`` (4 KiB of registers). Numbers and strings hash differently, so ``1`` and ``"1"``
count as two values; a bool counts as the number 0 or 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from vigil.core import ConfigError, IncompatibleSpecError, SerializationError

UInt64Array = npt.NDArray[np.uint64]
Int8Array = npt.NDArray[np.int8]

_MIN_LG_K, _MAX_LG_K = 4, 18
_SPARSE = 0x80
_INDEX_U2, _INDEX_U4 = np.dtype("<u2"), np.dtype("<u4")
_MAX_TABLE_CELLS = 1 << 24
"""Registers built at once by ``of_groups`` (16 MiB): 4,096 groups at the default lg_k."""


def hash_numbers(values: npt.NDArray[np.float64]) -> UInt64Array:
    """64-bit hashes of finite numbers; ``-0.0`` and ``0.0`` hash alike.

    MurmurHash3's 64-bit finaliser applied in place to the float bits: the same kind of mixer
    pandas' ``hash_array`` applies to numbers, at half its cost (no extra dtype copy), which
    matters on the profiling hot path (one hash per number per column).
    """
    hashes = (np.asarray(values, dtype=np.float64) + 0.0).view(np.uint64)
    hashes ^= hashes >> np.uint64(33)
    hashes *= np.uint64(0xFF51AFD7ED558CCD)
    hashes ^= hashes >> np.uint64(33)
    hashes *= np.uint64(0xC4CEB9FE1A85EC53)
    hashes ^= hashes >> np.uint64(33)
    return hashes


def hash_strings(values: pa.Array) -> UInt64Array:
    """64-bit hashes of the non-null strings of an arrow array."""
    texts = values.drop_null().to_numpy(zero_copy_only=False)
    if texts.size == 0:
        return np.zeros(0, dtype=np.uint64)
    from pandas.util import hash_array  # pandas costs 0.4 CPU s to import: only when hashing

    return np.asarray(hash_array(texts, categorize=False), dtype=np.uint64)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class DistinctSketch:
    """Immutable HyperLogLog sketch with ``2**lg_k`` int8 registers."""

    lg_k: int
    registers: Int8Array

    def __post_init__(self) -> None:
        if not _MIN_LG_K <= self.lg_k <= _MAX_LG_K:
            raise ConfigError(f"HLL lg_k must be in [{_MIN_LG_K}, {_MAX_LG_K}], got {self.lg_k!r}")
        if self.registers.shape != (1 << self.lg_k,) or self.registers.dtype != np.int8:
            raise ConfigError(
                f"HLL of lg_k={self.lg_k} needs {1 << self.lg_k} int8 registers, got "
                f"{self.registers.shape} {self.registers.dtype}"
            )

    @classmethod
    def empty(cls, lg_k: int) -> DistinctSketch:
        if not _MIN_LG_K <= lg_k <= _MAX_LG_K:
            raise ConfigError(f"HLL lg_k must be in [{_MIN_LG_K}, {_MAX_LG_K}], got {lg_k!r}")
        return cls(lg_k=lg_k, registers=np.zeros(1 << lg_k, dtype=np.int8))

    @property
    def relative_standard_error(self) -> float:
        return 1.04 / math.sqrt(1 << self.lg_k)

    def update(self, values: npt.NDArray[np.float64] | pa.Array) -> DistinctSketch:
        """A sketch that has also seen ``values``: finite numbers (numpy) or strings (arrow)."""
        if isinstance(values, pa.Array | pa.ChunkedArray):
            return self.update_hashes(hash_strings(values))
        return self.update_hashes(hash_numbers(values))

    def update_hashes(self, hashes: UInt64Array) -> DistinctSketch:
        """A sketch that has also seen the values with these 64-bit hashes."""
        if hashes.size == 0:
            return self
        # The register keeps the largest rank, i.e. the smallest remainder: take the minimum
        # remainder per register over the whole array (one ufunc.at), then rank only those
        # 2**lg_k minima. A remainder below 2**52 is exact in a float64, whose exponent is then
        # its bit length: rank = bits - bit_length + 1.
        bits = min(64 - self.lg_k, 52)
        index = (hashes >> np.uint64(64 - self.lg_k)).view(np.int64)
        rest = hashes & np.uint64((1 << bits) - 1)
        minima = np.full(1 << self.lg_k, 1 << bits, dtype=np.uint64)
        np.minimum.at(minima, index, rest)
        bit_length = np.frexp(minima.astype(np.float64))[1]
        seen = minima < np.uint64(1 << bits)
        ranks = np.where(seen, bits - bit_length + 1, 0).astype(np.int8)
        registers = np.maximum(self.registers, ranks)
        return DistinctSketch(lg_k=self.lg_k, registers=registers)

    @classmethod
    def of_groups(
        cls, hashes: UInt64Array, groups: npt.NDArray[np.int64], count: int, lg_k: int
    ) -> list[DistinctSketch]:
        """One sketch per group ``0..count-1`` of the values with these hashes; ``groups[i]`` is
        the group of ``hashes[i]``, in non-decreasing order.

        Equal to ``empty(lg_k).update_hashes`` per group: a register keeps the largest rank of
        its hashes, computed here for every hash at once and kept per ``(group, register)`` by
        one ``np.maximum.at``. Groups are done in blocks, so the register table stays small
        however many groups a batch holds.
        """
        empty = cls.empty(lg_k)
        found = [empty] * count
        if hashes.size == 0:
            return found
        size = 1 << lg_k
        bits = min(64 - lg_k, 52)
        index = (hashes >> np.uint64(64 - lg_k)).view(np.int64)
        rest = (hashes & np.uint64((1 << bits) - 1)).astype(np.float64)
        ranks = (bits + 1 - np.frexp(rest)[1]).astype(np.int8)
        block = max(1, _MAX_TABLE_CELLS // size)
        for base in range(0, count, block):
            low, high = np.searchsorted(groups, [base, base + block]).tolist()
            if low == high:
                continue
            table = np.zeros(min(block, count - base) * size, dtype=np.int8)
            np.maximum.at(
                table, (groups[low:high] - base) * size + index[low:high], ranks[low:high]
            )
            for group in np.unique(groups[low:high]).tolist():
                registers = table[(group - base) * size : (group - base + 1) * size].copy()
                found[group] = cls(lg_k=lg_k, registers=registers)
        return found

    def merge(self, other: DistinctSketch) -> DistinctSketch:
        return DistinctSketch.merge_all([self, other])

    @classmethod
    def merge_all(cls, sketches: Sequence[DistinctSketch]) -> DistinctSketch:
        """Elementwise maximum of all registers (exact, order-free)."""
        if not sketches:
            raise ConfigError("merge_all needs at least one sketch")
        for sketch in sketches[1:]:
            if sketch.lg_k != sketches[0].lg_k:
                raise IncompatibleSpecError(
                    f"cannot merge HLL sketches of lg_k={sketches[0].lg_k} and lg_k={sketch.lg_k}"
                )
        if len(sketches) == 1:
            return sketches[0]
        registers = np.maximum.reduce([sketch.registers for sketch in sketches])
        return cls(lg_k=sketches[0].lg_k, registers=registers)

    def estimate(self) -> float:
        m = float(1 << self.lg_k)
        alpha = {16: 0.673, 32: 0.697, 64: 0.709}.get(int(m), 0.7213 / (1.0 + 1.079 / m))
        raw = alpha * m * m / float(np.sum(np.exp2(-self.registers.astype(np.float64))))
        empty = int(np.count_nonzero(self.registers == 0))
        if raw <= 2.5 * m and empty:
            return m * math.log(m / empty)
        return raw

    def to_bytes(self) -> bytes:
        """Dense (``lg_k``, then every register) or, when fewer bytes, sparse: ``0x80 | lg_k``,
        then the set registers' indices (uint16, or uint32 above ``lg_k`` 16) and their ranks.

        A window of a few hundred rows sets a few hundred of 4,096 registers: sparse, its
        sketches take a fifth of the bytes, and compressing a profile costs that much less.
        """
        # A profile writes ~30 of these: a bool mask's nonzero() is twice as fast as the int8
        # registers' own (4 vs 9 us), and np.flatnonzero's wrapper costs more than the work.
        (occupied,) = (self.registers != 0).nonzero()
        index_type = _INDEX_U2 if self.lg_k <= 16 else _INDEX_U4
        if occupied.size * (index_type.itemsize + 1) >= self.registers.size:
            return bytes([self.lg_k]) + self.registers.tobytes()
        return b"".join(
            [
                bytes([_SPARSE | self.lg_k]),
                occupied.astype(index_type).tobytes(),
                self.registers.take(occupied).tobytes(),
            ]
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> DistinctSketch:
        lg_k = data[0] & ~_SPARSE if data else 0
        if not _MIN_LG_K <= lg_k <= _MAX_LG_K:
            raise SerializationError(f"corrupt HLL bytes ({len(data)} bytes)")
        if not data[0] & _SPARSE:
            if len(data) != 1 + (1 << lg_k):
                raise SerializationError(f"corrupt HLL bytes ({len(data)} bytes)")
            # Read-only view, no copy: registers are never written in place (update builds anew).
            return cls(lg_k=lg_k, registers=np.frombuffer(data, dtype=np.int8, offset=1))
        index_type = np.dtype("<u2" if lg_k <= 16 else "<u4")
        count, rest = divmod(len(data) - 1, index_type.itemsize + 1)
        indices = np.frombuffer(data, dtype=index_type, count=count, offset=1)
        if rest or (count and int(indices.max()) >= 1 << lg_k):
            raise SerializationError(f"corrupt sparse HLL bytes ({len(data)} bytes)")
        registers = np.zeros(1 << lg_k, dtype=np.int8)
        registers[indices] = np.frombuffer(
            data, dtype=np.int8, offset=1 + count * index_type.itemsize
        )
        return cls(lg_k=lg_k, registers=registers)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DistinctSketch):
            return NotImplemented
        return self.lg_k == other.lg_k and np.array_equal(self.registers, other.registers)

    def __hash__(self) -> int:
        return hash(self.to_bytes())

    def __repr__(self) -> str:
        return f"DistinctSketch(lg_k={self.lg_k}, estimate={self.estimate():.1f})"
