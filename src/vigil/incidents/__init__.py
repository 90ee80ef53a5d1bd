"""Anomalies -> incidents: filters, grouping, lifecycle, silences, summaries and feedback.

Pure functions over values: nothing here reads the store or the clock (``now`` comes in).
"""

from typing import TYPE_CHECKING

from vigil.core.lazy import lazy_exports

if TYPE_CHECKING:
    from vigil.incidents.attribution import attribute_latency, attribute_traffic
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
    from vigil.incidents.grouping import (
        GroupingSettings,
        as_of,
        fold_platform_incidents,
        update_incidents,
        with_attribution,
    )
    from vigil.incidents.incident import (
        PLATFORM,
        Attribution,
        Feedback,
        FeedbackLabel,
        Incident,
        IncidentState,
        Verdict,
        anomaly_weight,
        feedback_labels,
        incident_id,
        opening_problem,
    )
    from vigil.incidents.kinds import (
        IncidentKind,
        Problem,
        classify,
        features_of,
        kind_of,
        segments_of,
        subject_of,
    )
    from vigil.incidents.listing import incident_record
    from vigil.incidents.silences import MaintenanceWindow, Silence
    from vigil.incidents.summary import summarize

__all__ = [
    "PLATFORM",
    "Attribution",
    "CoMovement",
    "Feedback",
    "FeedbackLabel",
    "FilterOutcome",
    "FilterReport",
    "FilterSettings",
    "GroupingSettings",
    "Incident",
    "IncidentKind",
    "IncidentState",
    "MaintenanceWindow",
    "Problem",
    "Silence",
    "Verdict",
    "anomaly_weight",
    "apply_cooldown",
    "apply_filters",
    "as_of",
    "attribute_latency",
    "attribute_traffic",
    "classify",
    "co_movements",
    "deduplicate",
    "dismiss",
    "drop_mild",
    "drop_silenced",
    "features_of",
    "feedback_labels",
    "fold_platform_incidents",
    "incident_id",
    "incident_record",
    "kind_of",
    "low_traffic_versions",
    "opening_problem",
    "require_duration",
    "segments_of",
    "subject_of",
    "summarize",
    "update_incidents",
    "with_attribution",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "vigil.incidents.attribution": ("attribute_latency", "attribute_traffic"),
        "vigil.incidents.dismissal": ("dismiss",),
        "vigil.incidents.evidence": ("CoMovement", "co_movements"),
        "vigil.incidents.filters": (
            "FilterOutcome",
            "FilterReport",
            "FilterSettings",
            "apply_cooldown",
            "apply_filters",
            "deduplicate",
            "drop_mild",
            "drop_silenced",
            "low_traffic_versions",
            "require_duration",
        ),
        "vigil.incidents.grouping": (
            "GroupingSettings",
            "as_of",
            "fold_platform_incidents",
            "update_incidents",
            "with_attribution",
        ),
        "vigil.incidents.incident": (
            "PLATFORM",
            "Attribution",
            "Feedback",
            "FeedbackLabel",
            "Incident",
            "IncidentState",
            "Verdict",
            "anomaly_weight",
            "feedback_labels",
            "incident_id",
            "opening_problem",
        ),
        "vigil.incidents.kinds": (
            "IncidentKind",
            "Problem",
            "classify",
            "features_of",
            "kind_of",
            "segments_of",
            "subject_of",
        ),
        "vigil.incidents.listing": ("incident_record",),
        "vigil.incidents.silences": ("MaintenanceWindow", "Silence"),
        "vigil.incidents.summary": ("summarize",),
    },
)
