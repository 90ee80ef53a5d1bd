"""Recording an owner's verdict: the label is kept, and a false alarm stops paging.

Both the JSON API and the dashboard form take verdicts; they share this so a false alarm does
the same thing whichever way it came: the feedback is stored (labels for the deep detector),
and the incident is resolved and its series silenced for a day (:func:`vigil.incidents.dismiss`).
"""

from __future__ import annotations

from vigil.incidents import Feedback, Incident, Silence, Verdict, dismiss
from vigil.store import Store


def record_feedback(
    store: Store, incident: Incident, feedback: Feedback
) -> tuple[Incident, list[Silence]]:
    """Store ``feedback``; for a false alarm also the resolved incident and its silences."""
    store.feedback.put(feedback)
    if feedback.verdict is not Verdict.FALSE_ALARM:
        return incident, []
    resolved, silences = dismiss(incident, feedback)
    store.incidents.put([resolved])
    for silence in silences:
        store.silences.put(silence)
    return resolved, silences
