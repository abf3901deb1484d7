"""The watcher: changes under the library's root, as the paths that changed.

- ``watcher.py``: ``Watcher``, in the server: runs the watch process,
  restarts it after a failure, gives up loudly after repeated ones.
- ``process.py``: the watch process (``python -m mediasrv.watch``), which
  reports batches of changed paths as JSON lines.
- ``inotify.py``: the Linux notifier, which carries every name exactly.
"""
