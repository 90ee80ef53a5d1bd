"""Segments: a profile broken down by the values of a few tags, with bounded cardinality.

A shift confined to one region is diluted in the whole model's profile (a +1 sd change in a
fifth of the traffic moves the whole mean by a fifth of that), so ``ProfileSpec.segments``
names tags whose values each get a profile of their own, held inside the whole one
(:attr:`vigil.profile.Profile.segments`, keyed ``"region=eu"``). Every row of the profile is
in exactly one segment of each tag, so a tag's segment rows add up to the profile's rows:

- a row without the tag counts in ``tag=(none)`` (not a value: it does not count against the
  cap);
- per tag, only the ``max_segment_values`` most frequent values (ties by name) keep a segment
  of their own; the rest are counted together in ``tag=(other)``, whose own ``tags`` sketch
  still lists which values went in. The cap is applied to each batch and again when profiles
  merge, so a tag with a million user ids costs at most ``max_segment_values + 1`` segments.

A value near the cap may hold its own segment in one window and sit in ``(other)`` in another;
its series then has gaps there. A segment profile holds no segments itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from vigil.profile.profile import Profile

OTHER_VALUE = "(other)"
"""Where a tag's values beyond the cap are counted."""
NO_VALUE = "(none)"
"""Where rows without the tag are counted."""


def segment_name(tag: str, value: str) -> str:
    """``region=eu``: how a segment is named in profiles and series."""
    return f"{tag}={value}"


def segment_tag(name: str) -> str:
    """The tag of a segment name (``region`` of ``region=eu``)."""
    return name.partition("=")[0]


def segment_rows(
    values: pa.Array | pa.ChunkedArray | None, rows: int, *, max_values: int
) -> dict[str, npt.NDArray[np.int64]]:
    """The rows of each value of one tag (``values`` is ``None`` when no row has the tag):
    the ``max_values`` most frequent values, ties by name, and the rest as ``(other)``."""
    if values is None:
        return {NO_VALUE: np.arange(rows, dtype=np.int64)}
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    encoded = array.dictionary_encode()
    names: list[str] = [str(v) for v in encoded.dictionary.to_pylist()]
    filled = pc.fill_null(encoded.indices, len(names))
    codes = np.asarray(filled.to_numpy(zero_copy_only=False), dtype=np.int64)
    names.append(NO_VALUE)
    counts = np.bincount(codes, minlength=len(names))
    present = [i for i in range(len(names) - 1) if counts[i]]
    ranked = sorted(present, key=lambda i: (-int(counts[i]), names[i]))
    kept = set(ranked[:max_values]) | ({len(names) - 1} if counts[-1] else set())
    found = {names[i]: np.flatnonzero(codes == i).astype(np.int64) for i in kept}
    folded = np.isin(codes, [i for i in present if i not in kept])
    if folded.any():
        found[OTHER_VALUE] = np.flatnonzero(folded).astype(np.int64)
    return found


def cap_segments(
    segments: Mapping[str, Profile],
    max_values: int,
    merge_all: Callable[[Sequence[Profile]], Profile],
) -> dict[str, Profile]:
    """Per tag, keep the ``max_values`` segments with most rows (ties by name) and fold the
    rest into ``tag=(other)``, so a merge of many windows stays within the cap."""
    by_tag: dict[str, list[str]] = {}
    for name in segments:
        by_tag.setdefault(segment_tag(name), []).append(name)
    capped: dict[str, Profile] = {}
    for tag, names in by_tag.items():
        other, none = segment_name(tag, OTHER_VALUE), segment_name(tag, NO_VALUE)
        if none in segments:
            capped[none] = segments[none]
        named = sorted(
            (n for n in names if n not in (other, none)), key=lambda n: (-segments[n].rows, n)
        )
        capped.update({n: segments[n] for n in named[:max_values]})
        folded = [segments[n] for n in named[max_values:]]
        if other in segments:
            folded.insert(0, segments[other])
        if folded:
            capped[other] = merge_all(folded)
    return dict(sorted(capped.items()))
