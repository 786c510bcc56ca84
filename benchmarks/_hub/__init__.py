"""Parts of the hub benchmarks (`hub_throughput.py`, `hub_restart.py`): servers, load."""
