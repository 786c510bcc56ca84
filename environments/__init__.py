"""Simulators agents act in: RoCoBench-style robot tasks and the sandboxed software workspace.

Pure Python, seedable, no I/O beyond the workspace's own folder; nothing here imports `ioa`.
"""
