"""The simulation engine: the town, its units, channels and dispatch as SimPy processes."""
