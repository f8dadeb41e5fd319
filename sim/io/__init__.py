"""Reading and writing files.

Scenario YAML (safe, with line numbers and overrides), result files written atomically, sweep
files, and where the shipped scenarios are.
"""
