"""The programs the benchmarks run in fresh child processes (`python -m bench.children.NAME`), so
that each measures its own memory from a clean interpreter."""
