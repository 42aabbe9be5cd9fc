"""Exports of collection items: GeoJSON, CSV, GeoParquet, GeoPackage, FlatGeobuf."""
