"""Mergeable state of a model's performance in one window: what labels (and scores) add up to.

Every performance metric Vigil reports is computed from one of these, never from rows, so a
window's performance rolls up into days like a profile, merges across Spark tasks by addition,
and late labels simply add to the window of the prediction they belong to.

- :class:`ClassifierTally`, for a score in ``[0, 1]``: counts in ``bins`` fixed, equal-width
  score bins (``0.5`` and every multiple of ``1/bins`` is an edge, so accuracy at such a
  threshold is exact): all predictions (what label-free estimation reads), the labelled ones,
  their positives and their score sums (calibration), plus the sums of each labelled row's log
  loss and its square (log loss and its standard error, exact).
- :class:`RegressorTally`, for a numeric prediction: sums of the error, absolute error, squared
  error, fourth power and absolute percentage error (and its square), each over labelled rows.

Both are monoids: ``empty``, ``merge`` (adds, never mutates), ``to_bytes``/``from_bytes``.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np
import numpy.typing as npt

from vigil.core import ConfigError, IncompatibleSpecError, SerializationError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
DEFAULT_BINS = 200
LOG_LOSS_CLIP = 1e-15
"""Scores are clipped to ``[1e-15, 1 - 1e-15]`` for log loss, as scikit-learn does."""
_CLASSIFIER = struct.Struct("<BHdd")  # version, bins, log loss sum, log loss square sum
_REGRESSOR = struct.Struct("<Bqdddddqdd")
_VERSION = 1


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ClassifierTally:
    """Scores and labels of a binary classifier in one window, in fixed score bins."""

    bins: int
    predicted: IntArray
    labelled: IntArray
    positives: IntArray
    score_sum: FloatArray
    log_loss_sum: float = 0.0
    log_loss_sq_sum: float = 0.0

    def __post_init__(self) -> None:
        if not 2 <= self.bins <= 65535 or self.bins % 2:
            raise ConfigError(f"score bins must be an even number in [2, 65535], got {self.bins}")
        for name in ("predicted", "labelled", "positives", "score_sum"):
            if getattr(self, name).shape != (self.bins,):
                raise ConfigError(f"{name} must have {self.bins} bins")
        if bool(np.any(self.positives > self.labelled)):
            raise ConfigError("a bin has more positives than labelled predictions")

    @classmethod
    def empty(cls, bins: int = DEFAULT_BINS) -> ClassifierTally:
        zeros = np.zeros(bins, dtype=np.int64)
        return cls(
            bins=bins,
            predicted=zeros,
            labelled=zeros,
            positives=zeros,
            score_sum=np.zeros(bins),
        )

    @classmethod
    def of_predictions(cls, scores: npt.ArrayLike, *, bins: int = DEFAULT_BINS) -> ClassifierTally:
        """The tally of predictions whose labels are not known (yet): finite scores only."""
        index, _ = _bin(scores, bins)
        empty = cls.empty(bins)
        return _replace_classifier(empty, predicted=np.bincount(index, minlength=bins))

    @classmethod
    def of_labels(
        cls, scores: npt.ArrayLike, labels: npt.ArrayLike, *, bins: int = DEFAULT_BINS
    ) -> ClassifierTally:
        """The tally of labelled predictions (0/1 labels; rows with a non-finite score or a
        label other than 0 or 1 are left out). Their ``predicted`` counts stay 0: the
        prediction was counted when it was made."""
        score = np.asarray(scores, dtype=np.float64).ravel()
        label = np.asarray(labels, dtype=np.float64).ravel()
        if score.shape != label.shape:
            raise ConfigError(f"{score.size} scores but {label.size} labels")
        keep = np.isfinite(score) & ((label == 0.0) | (label == 1.0))
        score, label = score[keep], label[keep]
        index, clipped = _bin(score, bins)
        p = np.clip(clipped, LOG_LOSS_CLIP, 1.0 - LOG_LOSS_CLIP)
        losses = -(label * np.log(p) + (1.0 - label) * np.log1p(-p))
        return cls(
            bins=bins,
            predicted=np.zeros(bins, dtype=np.int64),
            labelled=np.bincount(index, minlength=bins).astype(np.int64),
            positives=np.bincount(index, weights=label, minlength=bins).round().astype(np.int64),
            score_sum=np.bincount(index, weights=clipped, minlength=bins).astype(np.float64),
            log_loss_sum=float(losses.sum()),
            log_loss_sq_sum=float(np.square(losses).sum()),
        )

    @property
    def count(self) -> int:
        """Labelled predictions."""
        return int(self.labelled.sum())

    @property
    def edges(self) -> FloatArray:
        return np.linspace(0.0, 1.0, self.bins + 1)

    def threshold_bin(self, threshold: float) -> int:
        """The first bin predicted positive at ``threshold`` (``score >= threshold``), which
        must be a bin edge."""
        position = threshold * self.bins
        if not 0.0 <= threshold <= 1.0 or abs(position - round(position)) > 1e-9:
            raise ConfigError(
                f"threshold {threshold!r} is not an edge of {self.bins} score bins; use a "
                f"multiple of 1/{self.bins}"
            )
        return round(position)

    def merge(self, other: ClassifierTally) -> ClassifierTally:
        return ClassifierTally.merge_all([self, other])

    @classmethod
    def merge_all(cls, tallies: Sequence[ClassifierTally]) -> ClassifierTally:
        if not tallies:
            raise ConfigError("merge_all needs at least one tally")
        bins = tallies[0].bins
        if any(t.bins != bins for t in tallies):
            raise IncompatibleSpecError(
                f"classifier tallies of {sorted({t.bins for t in tallies})} bins do not merge"
            )
        return cls(
            bins=bins,
            predicted=np.sum([t.predicted for t in tallies], axis=0),
            labelled=np.sum([t.labelled for t in tallies], axis=0),
            positives=np.sum([t.positives for t in tallies], axis=0),
            score_sum=np.sum([t.score_sum for t in tallies], axis=0),
            log_loss_sum=sum(t.log_loss_sum for t in tallies),
            log_loss_sq_sum=sum(t.log_loss_sq_sum for t in tallies),
        )

    def to_bytes(self) -> bytes:
        head = _CLASSIFIER.pack(_VERSION, self.bins, self.log_loss_sum, self.log_loss_sq_sum)
        counts = np.stack([self.predicted, self.labelled, self.positives]).astype("<i8")
        return head + counts.tobytes() + self.score_sum.astype("<f8").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> ClassifierTally:
        try:
            version, bins, loss, loss_sq = _CLASSIFIER.unpack_from(data, 0)
            if version != _VERSION:
                raise SerializationError(f"unknown classifier tally version {version}")
            start = _CLASSIFIER.size
            counts = np.frombuffer(data, dtype="<i8", count=3 * bins, offset=start)
            sums = np.frombuffer(data, dtype="<f8", count=bins, offset=start + 24 * bins)
        except (struct.error, ValueError) as err:
            raise SerializationError(f"corrupt classifier tally bytes: {err}") from err
        counts = counts.reshape(3, bins).astype(np.int64)
        return cls(
            bins=bins,
            predicted=counts[0],
            labelled=counts[1],
            positives=counts[2],
            score_sum=sums.astype(np.float64),
            log_loss_sum=loss,
            log_loss_sq_sum=loss_sq,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ClassifierTally):
            return NotImplemented
        return bool(
            self.bins == other.bins
            and np.array_equal(self.predicted, other.predicted)
            and np.array_equal(self.labelled, other.labelled)
            and np.array_equal(self.positives, other.positives)
            and np.allclose(self.score_sum, other.score_sum, rtol=1e-12, atol=1e-9)
            and np.isclose(self.log_loss_sum, other.log_loss_sum, rtol=1e-12, atol=1e-9)
            and np.isclose(self.log_loss_sq_sum, other.log_loss_sq_sum, rtol=1e-12, atol=1e-9)
        )

    __hash__ = None  # type: ignore[assignment]


def _bin(scores: npt.ArrayLike, bins: int) -> tuple[npt.NDArray[np.intp], FloatArray]:
    score = np.asarray(scores, dtype=np.float64).ravel()
    score = np.clip(score[np.isfinite(score)], 0.0, 1.0)
    index = np.minimum((score * bins).astype(np.intp), bins - 1)
    return index, score


def _replace_classifier(tally: ClassifierTally, *, predicted: npt.ArrayLike) -> ClassifierTally:
    return ClassifierTally(
        bins=tally.bins,
        predicted=np.asarray(predicted, dtype=np.int64),
        labelled=tally.labelled,
        positives=tally.positives,
        score_sum=tally.score_sum,
        log_loss_sum=tally.log_loss_sum,
        log_loss_sq_sum=tally.log_loss_sq_sum,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class RegressorTally:
    """Errors ``e = prediction - target`` of a regressor's labelled predictions in one window.

    ``ape_*`` sum the absolute percentage error ``|e| / |target|`` over targets that are not 0
    (``ape_count`` of them): MAPE is undefined at a target of 0.
    """

    count: int = 0
    error_sum: float = 0.0
    abs_error_sum: float = 0.0
    sq_error_sum: float = 0.0
    quad_error_sum: float = 0.0
    ape_sum: float = 0.0
    ape_count: int = 0
    ape_sq_sum: float = 0.0
    predicted: int = 0
    """Predictions made in the window, labelled or not."""

    def __post_init__(self) -> None:
        if min(self.count, self.ape_count, self.predicted) < 0 or self.ape_count > self.count:
            raise ConfigError(
                f"inconsistent regressor tally: count={self.count!r}, "
                f"ape_count={self.ape_count!r}, predicted={self.predicted!r}"
            )

    @classmethod
    def empty(cls) -> RegressorTally:
        return cls()

    @classmethod
    def of_predictions(cls, predictions: npt.ArrayLike) -> RegressorTally:
        values = np.asarray(predictions, dtype=np.float64).ravel()
        return cls(predicted=int(np.isfinite(values).sum()))

    @classmethod
    def of_labels(cls, predictions: npt.ArrayLike, targets: npt.ArrayLike) -> RegressorTally:
        """Labelled predictions (pairs with a non-finite side are left out)."""
        prediction = np.asarray(predictions, dtype=np.float64).ravel()
        target = np.asarray(targets, dtype=np.float64).ravel()
        if prediction.shape != target.shape:
            raise ConfigError(f"{prediction.size} predictions but {target.size} targets")
        keep = np.isfinite(prediction) & np.isfinite(target)
        error = prediction[keep] - target[keep]
        nonzero = target[keep] != 0.0
        ape = np.abs(error[nonzero]) / np.abs(target[keep][nonzero])
        return cls(
            count=int(error.size),
            error_sum=float(error.sum()),
            abs_error_sum=float(np.abs(error).sum()),
            sq_error_sum=float(np.square(error).sum()),
            quad_error_sum=float(np.square(np.square(error)).sum()),
            ape_sum=float(ape.sum()),
            ape_count=int(ape.size),
            ape_sq_sum=float(np.square(ape).sum()),
        )

    def merge(self, other: RegressorTally) -> RegressorTally:
        return RegressorTally.merge_all([self, other])

    @classmethod
    def merge_all(cls, tallies: Sequence[RegressorTally]) -> RegressorTally:
        return cls(
            count=sum(t.count for t in tallies),
            error_sum=sum(t.error_sum for t in tallies),
            abs_error_sum=sum(t.abs_error_sum for t in tallies),
            sq_error_sum=sum(t.sq_error_sum for t in tallies),
            quad_error_sum=sum(t.quad_error_sum for t in tallies),
            ape_sum=sum(t.ape_sum for t in tallies),
            ape_count=sum(t.ape_count for t in tallies),
            ape_sq_sum=sum(t.ape_sq_sum for t in tallies),
            predicted=sum(t.predicted for t in tallies),
        )

    def to_bytes(self) -> bytes:
        return _REGRESSOR.pack(
            _VERSION,
            self.count,
            self.error_sum,
            self.abs_error_sum,
            self.sq_error_sum,
            self.quad_error_sum,
            self.ape_sum,
            self.ape_count,
            self.ape_sq_sum,
            float(self.predicted),
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        try:
            version, count, err, abs_err, sq, quad, ape, ape_n, ape_sq, predicted = (
                _REGRESSOR.unpack(data)
            )
        except struct.error as err_:
            raise SerializationError(f"corrupt regressor tally bytes: {err_}") from err_
        if version != _VERSION:
            raise SerializationError(f"unknown regressor tally version {version}")
        return cls(
            count=count,
            error_sum=err,
            abs_error_sum=abs_err,
            sq_error_sum=sq,
            quad_error_sum=quad,
            ape_sum=ape,
            ape_count=ape_n,
            ape_sq_sum=ape_sq,
            predicted=round(predicted),
        )
