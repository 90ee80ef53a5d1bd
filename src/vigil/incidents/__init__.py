"""Anomalies -> incidents: filters, grouping, lifecycle, silences, summaries and feedback.

Pure functions over values: nothing here reads the store or the clock (``now`` comes in).
"""

from vigil.incidents.dismissal import dismiss
from vigil.incidents.evidence import CoMovement, co_movements
from vigil.incidents.filters import (
    FilterOutcome,
    FilterReport,
    FilterSettings,
    apply_cooldown,
    apply_filters,
    deduplicate,
    drop_mild,
    drop_silenced,
    low_traffic_versions,
    require_duration,
)
from vigil.incidents.grouping import GroupingSettings, fold_platform_incidents, update_incidents
from vigil.incidents.incident import (
    PLATFORM,
    Feedback,
    FeedbackLabel,
    Incident,
    IncidentState,
    Verdict,
    anomaly_weight,
    feedback_labels,
    incident_id,
)
from vigil.incidents.silences import MaintenanceWindow, Silence
from vigil.incidents.summary import Problem, ProblemKind, classify, opening_problem, summarize

__all__ = [
    "PLATFORM",
    "CoMovement",
    "Feedback",
    "FeedbackLabel",
    "FilterOutcome",
    "FilterReport",
    "FilterSettings",
    "GroupingSettings",
    "Incident",
    "IncidentState",
    "MaintenanceWindow",
    "Problem",
    "ProblemKind",
    "Silence",
    "Verdict",
    "anomaly_weight",
    "apply_cooldown",
    "apply_filters",
    "classify",
    "co_movements",
    "deduplicate",
    "dismiss",
    "drop_mild",
    "drop_silenced",
    "feedback_labels",
    "fold_platform_incidents",
    "incident_id",
    "low_traffic_versions",
    "opening_problem",
    "require_duration",
    "summarize",
    "update_incidents",
]
