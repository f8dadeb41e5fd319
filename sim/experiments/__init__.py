"""Experiments: runs, replications, comparisons and sweeps, on serial, process or dask backends."""
