"""Analytics on a Dask distributed cluster: hot spots, emerging hot spots and backtests.

The cells are split by their H3 parent (:mod:`.partition`, pure); each partition is computed
with its halo (every neighbour of its cells under the statistic's own weights) by a task on a
worker, with the global quantities (mean, variance, ``n``, the values for the permutations)
computed once by the driver and broadcast; the driver then decides what needs all the cells
(the false discovery rate, the classes). Results are those of the single process, to 1e-12.
:mod:`.cluster` is the one place that makes a Dask client.
"""
