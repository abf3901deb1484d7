"""The scan side: walk the library, probe files, and build a generation (full or
delta) in the scan process."""
