"""Helpers shared by several test suites (plain functions and classes; the fixtures stay in each conftest).

- `station`: `tamga-review` and `tamga-intake` run in-process through click's CliRunner, the checks
  on their results, a station directory driven by its CLI, and the session cache of station unlocks.
- `intake`: submitting through the intake app's Flask test client, and reading what an export wrote.
- `browser`: headless Chromium with JavaScript off (selenium), and reading its pages.
"""
