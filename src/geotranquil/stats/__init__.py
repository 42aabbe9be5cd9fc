"""Pure statistics: spatial weights, hot spots (Gi*), LISA, FDR, trends."""

from geotranquil.stats.fdr import benjamini_hochberg, confidence_level, fdr_adjust
from geotranquil.stats.getis_ord import GetisOrdGiStar, gi_star
from geotranquil.stats.moran import LocalMoran, local_moran
from geotranquil.stats.weights import SpatialWeights

__all__ = [
    "GetisOrdGiStar",
    "LocalMoran",
    "SpatialWeights",
    "benjamini_hochberg",
    "confidence_level",
    "fdr_adjust",
    "gi_star",
    "local_moran",
]
