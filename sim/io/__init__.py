"""Input and output: scenario and sweep files in, result files out."""
