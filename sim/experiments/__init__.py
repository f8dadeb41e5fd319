"""Experiments: runs, replications, comparisons on common random numbers, sweeps, backends."""
