"""The server's machinery without HTTP: the rescan coordinator and its scan
process, events and retries, the library that swaps generations, following."""
