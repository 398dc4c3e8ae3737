"""Load and scale benchmarks (issue 8): `make bench`, results in docs/PERFORMANCE.md."""
