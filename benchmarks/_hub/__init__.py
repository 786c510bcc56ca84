"""Parts of `benchmarks/hub_throughput.py` and `benchmarks/hub_soak.py`: the servers under test,
the load, the statistics, and the soak's actors (flooder, slow reader, chat agents) and checks."""
