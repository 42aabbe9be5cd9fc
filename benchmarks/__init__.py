"""Benchmarks: the project against its strongest peer on the same data, in the same run."""
