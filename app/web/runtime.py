"""How the serving process's garbage collector is set, for a server holding thousands of streams.

Each open notification stream keeps a few hundred Python objects alive for hours. With CPython's
default thresholds (700, 10, 10), every full collection walks all of them: at 10,000 streams the
benchmark logged collections of 0.1 to 1.3 s, freeing nothing, in the middle of a broadcast
(docs/PERFORMANCE.md). So, once the app is loaded:
  - `gc.freeze()` moves what exists then (modules, templates, routes) out of every collection;
  - the young generation is collected every 10,000 allocations instead of 700, the middle one
    every 10 of those, and a full collection is considered every 100 of those (still subject
    to CPython's rule of a quarter more long-lived objects than at the last one).
Measured both ways (docs/PERFORMANCE.md): larger young generations (50,000, 20) made the
middle collections long enough to show in every page's p99 (contract page at 8 connections:
13 ms by default, 79 ms with them, 17 ms with these), for a broadcast hardly better.
Reference cycles are still collected, only less often; memory for them is bounded by the thresholds.
"""

from __future__ import annotations

import gc

THRESHOLDS = (10_000, 10, 100)


def tune_garbage_collector() -> None:
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
