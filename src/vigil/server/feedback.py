"""Recording an owner's verdict: the label is kept, and a false alarm stops paging.

Both the JSON API and the dashboard form take verdicts; they share this so a false alarm does
the same thing whichever way it came: the feedback is stored (labels for the deep detector),
and the incident is resolved and its series silenced for a day (:func:`vigil.incidents.dismiss`).

The incident is written only while its row is at the revision read (the store's writes are
conditional). When a pipeline cycle wrote it meanwhile (a new anomaly, a longer summary), the
dismissal is applied again to the incident as it is now: a person's verdict is about the
incident, not about one revision of its evidence, so re-applying it is safe. A client that wants
its verdict to hold only for what it saw sends that ``revision``, and is refused
(:class:`~vigil.core.ConflictError`, HTTP 409) when the incident has changed since.
"""

from __future__ import annotations

from vigil.core import ConflictError
from vigil.incidents import Feedback, Incident, Silence, Verdict, dismiss
from vigil.pipeline.incidents import WRITE_ATTEMPTS
from vigil.store import Store


def record_feedback(
    store: Store, incident: Incident, feedback: Feedback, *, revision: int | None = None
) -> tuple[Incident, list[Silence]]:
    """Store ``feedback``; for a false alarm also the resolved incident and its silences.

    ``incident`` is the incident as the caller read it; ``revision``, when given, is the one the
    verdict was given on: a later revision refuses the verdict (ConflictError), nothing stored.
    """
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        if revision is not None and incident.revision != revision:
            raise ConflictError(
                f"incident {incident.id} is at revision {incident.revision}, not {revision} as "
                "when the verdict was given: it changed since (a pipeline cycle); read it again "
                f"(GET /v1/incidents/{incident.id}) and give the verdict again",
                (incident.id,),
            )
        if feedback.verdict is not Verdict.FALSE_ALARM:
            store.feedback.put(feedback)
            return incident, []
        resolved, silences = dismiss(incident, feedback)
        try:
            if resolved != incident:
                store.incidents.put([resolved])
        except ConflictError:
            fresh = store.incidents.find(incident.id)
            if fresh is None or attempt == WRITE_ATTEMPTS:
                raise
            incident = fresh
            continue
        for silence in silences:
            store.silences.put(silence)
        store.feedback.put(feedback)
        return resolved, silences
    raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover
