"""Parts of `benchmarks/hub_throughput.py`: the servers under test, the load, the statistics."""
