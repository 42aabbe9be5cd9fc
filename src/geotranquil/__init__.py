"""geotranquil: public-tranquillity analytics for Marseille."""

__version__ = "0.1.0"
