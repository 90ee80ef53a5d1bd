"""Record batches -> mergeable profiles: the sketches Vigil keeps per model, version and window.

Every value here is an immutable monoid (``empty``, ``merge``, ``to_bytes``/``from_bytes``), so
profiles built on different machines or hours combine into the profile of all their rows.
"""

from vigil.profile.build import profile_batch
from vigil.profile.column import ColumnProfile
from vigil.profile.distinct import DistinctSketch
from vigil.profile.frequent import FrequentItems
from vigil.profile.histogram import LogHistogram
from vigil.profile.moments import Moments
from vigil.profile.profile import OTHER_HOSTS, Profile
from vigil.profile.quantiles import QuantileSketch
from vigil.profile.rollup import merge_profiles, rollup
from vigil.profile.sketch import Sketch
from vigil.profile.spec import ProfileSpec

__all__ = [
    "OTHER_HOSTS",
    "ColumnProfile",
    "DistinctSketch",
    "FrequentItems",
    "LogHistogram",
    "Moments",
    "Profile",
    "ProfileSpec",
    "QuantileSketch",
    "Sketch",
    "merge_profiles",
    "profile_batch",
    "rollup",
]
