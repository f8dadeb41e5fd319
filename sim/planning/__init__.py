"""Planning answers built on experiments.

Which lever buys how much (decompose), the smallest team that meets a target (staff), and
which parameters matter (sensitivity).
"""
