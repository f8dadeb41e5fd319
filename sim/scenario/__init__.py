"""The scenario: its schema, schedules, distributions, governance presets and checks."""
