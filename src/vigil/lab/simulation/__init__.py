"""Synthetic data for tests, benchmarks and the demo: every generator takes its seed (or rng)."""
