"""The server's machinery without HTTP: the leader (``leader.py``: what keeps the
library current), the rescan coordinator with its scan process, events, typed
results, retries and interval timer, the library that swaps generations,
following, and the declared shape of /api/status."""
