"""The scenario as plain data.

The schema of a scenario file, the ways of working as levers, weekly hours and duration
distributions. Validated once at the edge, then passed inward as frozen objects. Imports only
the foundation (``sim.errors``).
"""
