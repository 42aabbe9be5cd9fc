"""OGC API - Features: the collection catalogue, query parameters, CQL2 filters, SQL."""
