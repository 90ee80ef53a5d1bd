"""Run one peer (Evidently, NannyML or whylogs) on a month written by ``vigil bench quality``'s
simulator, each the way its own documentation shows, with its documented defaults.

Runs in the peer's own environment (no Vigil import): ``python run_peer.py PEER MONTH_DIR``
prints JSON: for each analysed day (days 7..29; days 0..6 are the reference), the columns the
peer flagged as drifted, and for NannyML the CBPE estimates and realised-performance alerts.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

REFERENCE_DAYS = 7


def load(root: Path) -> pd.DataFrame:
    """Predictions with their labels (those that arrived within the month), by request_id."""
    predictions = pd.concat(
        [pq.read_table(p).to_pandas() for p in sorted(root.glob("date=*/predictions.parquet"))]
    )
    labels = pd.concat(
        [pq.read_table(p).to_pandas() for p in sorted(root.glob("date=*/labels.parquet"))]
    )
    frame = predictions.rename(
        columns=lambda c: c.removeprefix("features.").removeprefix("outputs.")
    )
    frame = frame.merge(labels[["request_id", "label"]], on="request_id", how="left")
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True).dt.tz_localize(None)
    start = frame["timestamp"].min().normalize()
    frame["day"] = (frame["timestamp"] - start).dt.days
    return frame


def features(frame: pd.DataFrame) -> list[str]:
    skip = {"model", "version", "timestamp", "request_id", "event", "tags.region", "label", "day"}
    skip.add("date")  # the Hive partition folder, read back as a column
    return [c for c in frame.columns if c not in skip]


def evidently(frame: pd.DataFrame) -> dict[str, object]:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    columns = features(frame)
    numerical = [
        c
        for c in columns
        if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]
    categorical = [c for c in columns if c not in numerical]
    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)

    def dataset(part: pd.DataFrame) -> Dataset:
        return Dataset.from_pandas(part[columns].reset_index(drop=True), data_definition=definition)

    reference = dataset(frame[frame["day"] < REFERENCE_DAYS])
    flagged: dict[int, list[str]] = {}
    for day in sorted(d for d in frame["day"].unique() if d >= REFERENCE_DAYS):
        snapshot = Report([DataDriftPreset()]).run(dataset(frame[frame["day"] == day]), reference)
        flagged[int(day)] = sorted(_evidently_drifted(snapshot.dict(), columns))
    return {"flagged": flagged}


def _evidently_drifted(result: dict[str, object], columns: list[str]) -> set[str]:
    drifted = set()
    for metric in result["metrics"]:  # type: ignore[union-attr]
        config = metric.get("config", {})
        column = config.get("column")
        if column not in columns or "threshold" not in config:
            continue
        value, threshold = float(metric["value"]), float(config["threshold"])
        method = str(config.get("method", ""))
        p_value = "p_value" in method or "test" in method.lower()
        if (value < threshold) if p_value else (value >= threshold):
            drifted.add(column)
    return drifted


def nannyml(frame: pd.DataFrame) -> dict[str, object]:
    import nannyml as nml

    columns = features(frame)
    frame = frame.assign(prediction=(frame["score"] >= 0.5).astype(int))
    reference = frame[frame["day"] < REFERENCE_DAYS]
    analysis = frame[frame["day"] >= REFERENCE_DAYS]
    drift = nml.UnivariateDriftCalculator(
        column_names=[*columns], timestamp_column_name="timestamp", chunk_period="D"
    )
    drift.fit(reference)
    table = drift.calculate(analysis).filter(period="analysis").to_df()
    flagged: dict[int, list[str]] = {}
    days = sorted(int(d) for d in analysis["day"].unique())
    for i, day in enumerate(days):
        hit = set()
        for column in columns:
            for method in table[column].columns.get_level_values(0).unique():
                if bool(table[(column, method, "alert")].iloc[i]):
                    hit.add(column)
        flagged[day] = sorted(hit)
    labelled_ref = reference.dropna(subset=["label"])
    kwargs = {
        "y_pred_proba": "score",
        "y_pred": "prediction",
        "y_true": "label",
        "timestamp_column_name": "timestamp",
        "metrics": ["roc_auc", "accuracy"],
        "chunk_period": "D",
        "problem_type": "classification_binary",
    }
    cbpe = nml.CBPE(**kwargs)
    cbpe.fit(labelled_ref)
    estimated = cbpe.estimate(analysis.drop(columns=["label"])).filter(period="analysis").to_df()
    realised_calc = nml.PerformanceCalculator(**kwargs)
    realised_calc.fit(labelled_ref)
    realised = (
        realised_calc.calculate(analysis.dropna(subset=["label"])).filter(period="analysis").to_df()
    )
    performance = {}
    for metric in ("accuracy", "roc_auc"):
        performance[metric] = {
            "estimated": [float(v) for v in estimated[(metric, "value")]],
            "estimated_alert": [bool(v) for v in estimated[(metric, "alert")]],
            "realised": [float(v) for v in realised[(metric, "value")]],
            "realised_alert": [bool(v) for v in realised[(metric, "alert")]],
        }
    return {"flagged": flagged, "days": days, "performance": performance}


def whylogs(frame: pd.DataFrame) -> dict[str, object]:
    import whylogs as why
    from whylogs.viz.drift.column_drift_algorithms import calculate_drift_scores

    columns = features(frame)
    reference = why.log(frame[frame["day"] < REFERENCE_DAYS][columns]).view()
    flagged: dict[int, list[str]] = {}
    for day in sorted(d for d in frame["day"].unique() if d >= REFERENCE_DAYS):
        current = why.log(frame[frame["day"] == day][columns]).view()
        scores = calculate_drift_scores(
            target_view=current, reference_view=reference, with_thresholds=True
        )
        flagged[int(day)] = sorted(
            c for c, s in scores.items() if s and s.get("drift_category") == "DRIFT"
        )
    return {"flagged": flagged}


def main() -> None:
    peer, root = sys.argv[1], Path(sys.argv[2])
    # No usage reporting from the peers (this machine has no network but package indexes).
    os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")
    os.environ.setdefault("WHYLOGS_NO_ANALYTICS", "True")
    warnings.filterwarnings("ignore")
    frame = load(root)
    run = {"evidently": evidently, "nannyml": nannyml, "whylogs": whylogs}[peer]
    print(json.dumps({"peer": peer, **run(frame)}))


if __name__ == "__main__":
    main()
