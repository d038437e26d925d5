"""A local Africa's Talking and operators simulator for tests, demos and benchmarks."""
