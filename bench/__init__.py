"""Benchmarks: scripts that print numbers (never assert them), and the child programs they run."""
