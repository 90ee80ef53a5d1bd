"""Record batches -> mergeable profiles: the sketches Vigil keeps per model, version and window.

Every value here is an immutable monoid (``empty``, ``merge``, ``to_bytes``/``from_bytes``), so
profiles built on different machines or hours combine into the profile of all their rows.
"""

from typing import TYPE_CHECKING

from vigil.core.lazy import lazy_exports

if TYPE_CHECKING:
    from vigil.profile.build import profile_batch
    from vigil.profile.column import ColumnProfile
    from vigil.profile.distinct import DistinctSketch
    from vigil.profile.envelope import ProfileSummary
    from vigil.profile.frequent import FrequentItems
    from vigil.profile.histogram import LogHistogram
    from vigil.profile.merge import merge_profiles, rollup
    from vigil.profile.moments import Moments
    from vigil.profile.profile import OTHER_HOSTS, Profile
    from vigil.profile.quantiles import QuantileSketch
    from vigil.profile.segments import NO_VALUE, OTHER_VALUE, segment_name, segment_tag
    from vigil.profile.sketch import Sketch
    from vigil.profile.spec import ProfileSpec

__all__ = [
    "NO_VALUE",
    "OTHER_HOSTS",
    "OTHER_VALUE",
    "ColumnProfile",
    "DistinctSketch",
    "FrequentItems",
    "LogHistogram",
    "Moments",
    "Profile",
    "ProfileSpec",
    "ProfileSummary",
    "QuantileSketch",
    "Sketch",
    "merge_profiles",
    "profile_batch",
    "rollup",
    "segment_name",
    "segment_tag",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "vigil.profile.build": ("profile_batch",),
        "vigil.profile.column": ("ColumnProfile",),
        "vigil.profile.distinct": ("DistinctSketch",),
        "vigil.profile.frequent": ("FrequentItems",),
        "vigil.profile.histogram": ("LogHistogram",),
        "vigil.profile.moments": ("Moments",),
        "vigil.profile.envelope": ("ProfileSummary",),
        "vigil.profile.profile": ("OTHER_HOSTS", "Profile"),
        "vigil.profile.quantiles": ("QuantileSketch",),
        "vigil.profile.merge": ("merge_profiles", "rollup"),
        "vigil.profile.segments": ("NO_VALUE", "OTHER_VALUE", "segment_name", "segment_tag"),
        "vigil.profile.sketch": ("Sketch",),
        "vigil.profile.spec": ("ProfileSpec",),
    },
)
