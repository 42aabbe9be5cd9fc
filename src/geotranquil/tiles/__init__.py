"""Vector tiles cut by PostGIS (``ST_AsMVT``) and their TileJSON / OGC tile-set metadata."""
