"""Where a person clicks from an alert: the incident's page on the Vigil server, a dashboard.

Both are optional settings; an alert without them still says everything in its text. The
dashboard link is a template with ``{model}`` and ``{version}`` (URL-quoted), e.g. the shipped
Grafana dashboard filtered to the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from vigil.core import ConfigError
from vigil.incidents import Incident


@dataclass(frozen=True, slots=True, kw_only=True)
class Links:
    """``vigil_url``: the Vigil server's base URL; ``dashboard``: a URL template."""

    vigil_url: str = ""
    dashboard: str = ""

    def __post_init__(self) -> None:
        for name in ("vigil_url", "dashboard"):
            value = getattr(self, name)
            if value and not value.startswith(("http://", "https://")):
                raise ConfigError(f"link {name} must start with http:// or https://, got {value!r}")
        try:
            self.dashboard.format(model="m", version="v")
        except (KeyError, IndexError, ValueError) as err:
            raise ConfigError(
                f"dashboard link {self.dashboard!r} may use only {{model}} and {{version}}: {err}"
            ) from err

    def incident(self, incident: Incident) -> str:
        """The incident's page on the Vigil server, or ``""``."""
        if not self.vigil_url:
            return ""
        return f"{self.vigil_url.rstrip('/')}/incidents/{quote(incident.id, safe='')}"

    def model_dashboard(self, incident: Incident) -> str:
        """The dashboard of the incident's model and version, or ``""``."""
        if not self.dashboard:
            return ""
        return self.dashboard.format(
            model=quote(incident.model, safe=""), version=quote(incident.version, safe="")
        )
