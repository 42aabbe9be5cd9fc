"""Pictures for analysts: maps and charts drawn with matplotlib (pure: data in, figure out)."""

from geotranquil.charts.overview import hexagon_map, weekly_chart

__all__ = ["hexagon_map", "weekly_chart"]
