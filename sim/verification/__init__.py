"""Verification of the engine against queueing theory, an exact hypercube model and Ciw."""
