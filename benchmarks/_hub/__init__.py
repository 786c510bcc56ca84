"""Parts of the hub benchmarks (`hub_throughput.py`, `hub_soak.py`, `hub_restart.py`): the
servers under test, the load, the statistics, the soak's actors and checks, the restart's
history and reconnect wave."""
