"""The index file format: connections and schema, a file's row, tag runs, the
date order, the cache directory and ``current.db``, reading the current one."""
