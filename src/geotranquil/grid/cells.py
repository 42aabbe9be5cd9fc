"""The analysis grid: every H3 cell overlapping the study area, with its area and its zones."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from geotranquil.geography.reference import Geography
from geotranquil.grid.h3ids import FINE_RESOLUTION, cell_polygons, cover, parent_ids

METRIC_CRS = 2154  # Lambert-93: distances and areas


def _assign(cells: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, code_col: str = "code") -> pd.Series:
    """Code of the zone holding most of each cell (by area, in Lambert-93), else the nearest."""
    if zones.empty:
        return pd.Series([None] * len(cells), index=cells.index, dtype=object)
    pieces = gpd.overlay(
        cells[["h3", "geometry"]].to_crs(METRIC_CRS),
        zones[[code_col, "geometry"]].to_crs(METRIC_CRS),
        how="intersection",
        keep_geom_type=True,
    )
    pieces["piece_area"] = pieces.area
    best = pieces.sort_values(["h3", "piece_area"], ascending=[True, False]).drop_duplicates("h3")
    mapping = dict(zip(best["h3"], best[code_col], strict=True))
    missing = cells.loc[~cells["h3"].isin(mapping.keys()), ["h3", "geometry"]]
    if not missing.empty:  # slivers at the coast: the nearest zone
        near = gpd.sjoin_nearest(
            missing.to_crs(METRIC_CRS), zones[[code_col, "geometry"]].to_crs(METRIC_CRS)
        ).drop_duplicates("h3")
        mapping.update(zip(near["h3"], near[code_col], strict=True))
    return cells["h3"].map(mapping).astype(object)


def spread_population(cells: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> np.ndarray:
    """Residents of each cell, spread from zones by area (areal weighting, Lambert-93).

    A zone's population goes to the cells in proportion to the part of the zone each cell
    covers (of the part the cells cover, so nobody is lost at the edges); zones without a
    population contribute nothing.

    Examples
    --------
    >>> from shapely import box
    >>> zones = gpd.GeoDataFrame({"population": [100]}, geometry=[box(0, 0, 2, 1)], crs=2154)
    >>> cells = gpd.GeoDataFrame({"h3": [1, 2]},
    ...                          geometry=[box(0, 0, 1, 1), box(1, 0, 1.5, 1)], crs=2154)
    >>> spread_population(cells, zones).round(2).tolist()
    [66.67, 33.33]
    """
    out = np.zeros(len(cells))
    if zones.empty or "population" not in zones:
        return out
    z = zones[["population", "geometry"]].to_crs(METRIC_CRS).reset_index(drop=True)
    z = z[z["population"].notna()]
    z["zone"] = np.arange(len(z))
    c = cells[["geometry"]].to_crs(METRIC_CRS).reset_index(drop=True)
    c["row"] = np.arange(len(c))
    pieces = gpd.overlay(c, z, how="intersection", keep_geom_type=True)
    area = pieces.area
    # divide by the part of the zone the cells cover, so slivers outside the cover lose nobody
    covered = area.groupby(pieces["zone"]).transform("sum")
    share = area / covered * pieces["population"].astype(float)
    np.add.at(out, pieces["row"].to_numpy(), share.to_numpy())
    return out


def build_grid(
    geography: Geography,
    resolutions: Sequence[int],
    progress: Callable[[int], None] | None = None,
) -> gpd.GeoDataFrame:
    """All cells overlapping the commune at each resolution, with attributes.

    H3's hierarchy is not exactly nested: the parent of a fine cell (the bit-operation parent
    stored on every event) may be a coarse hexagon just outside the commune. So each resolution
    also gets the parents of every fine (resolution 12) cell of the commune: whatever the
    event, its cell ids at every resolution are in the grid.

    Columns: ``h3`` (int64), ``resolution``, ``area_m2`` (Lambert-93), ``land_share`` (share of
    the cell inside the commune), ``arrondissement_code`` and ``quartier_code`` (the zone that
    holds most of the cell), ``population`` (residents spread from the arrondissements by
    area, see :func:`spread_population`), ``geometry`` (hexagon, EPSG:4326).

    Examples
    --------
    >>> from geotranquil.geography.reference import load_builtin
    >>> grid = build_grid(load_builtin(), [7])
    >>> int(grid.resolution.iloc[0]), bool(grid.land_share.between(0, 1).all())
    (7, True)
    """
    frames = []
    commune = gpd.GeoSeries([geography.commune], crs=4326).to_crs(METRIC_CRS).iloc[0]
    for res in resolutions:
        if not 0 <= res <= FINE_RESOLUTION:
            raise ValueError(f"grid resolution must be 0-{FINE_RESOLUTION}, got {res}")
    fine = cover(geography.commune, FINE_RESOLUTION) if resolutions else None
    for res in resolutions:
        assert fine is not None
        ids = np.union1d(cover(geography.commune, res), parent_ids(fine, res))
        frame = gpd.GeoDataFrame(
            {"h3": ids, "resolution": np.full(len(ids), res, dtype=np.int16)},
            geometry=cell_polygons(ids.tolist()),
            crs=4326,
        )
        metric = frame.geometry.to_crs(METRIC_CRS)
        frame["area_m2"] = metric.area.to_numpy()
        frame["land_share"] = np.clip(
            metric.intersection(commune).area.to_numpy() / frame["area_m2"], 0, 1
        )
        frame["arrondissement_code"] = _assign(frame, geography.arrondissements)
        frame["population"] = spread_population(frame, geography.arrondissements)
        frame["quartier_code"] = _assign(frame, geography.quartiers)
        frames.append(frame)
        if progress:
            progress(res)
    grid = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(grid, geometry="geometry", crs=4326)
