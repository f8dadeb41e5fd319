"""The engine: the SimPy model of one way of working and the mechanisms it is made of.

Territory, units and shifts, patrols, incident generation, report channels, dispatch, grid
workers, the closed loop; the records it writes and the typed trace of an incident's life.
Reads only scenario data; never reads or writes files.
"""
