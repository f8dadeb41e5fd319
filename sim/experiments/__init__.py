"""Experiments: one run, replications, comparisons on common random numbers, sweeps and their backends.
"""
