"""What the test suites share besides fixtures (those are in tests/conftest.py and each suite's own).

Plain functions and classes, imported by test modules and conftests; no test module imports another.
The map of the modules is in tests/README.md.
"""
