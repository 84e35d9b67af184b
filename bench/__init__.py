"""`make bench`: throughput, latency and memory of the intake, printed as a table."""
