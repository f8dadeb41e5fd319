"""Preloaded by the forkserver of :class:`sim.experiments.backends.ProcessBackend`, and only there.

Importing it ties the importing process to its parent: Linux kills it when its parent dies.
The forkserver starts the pool's workers, so it is their parent; without this it outlives a
parent killed with ``kill -9``, and so do the workers. No thread is started here: the
forkserver forks.
"""

from sim.experiments.backends import die_with_parent

die_with_parent(kernel=True, watch=False)
