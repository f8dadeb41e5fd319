"""The engine checked against theory.

Erlang C, Pollaczek-Khinchine, Little's law, Larson's hypercube model solved exactly, and the
Ciw simulator; writes ``docs/validation.md``.
"""
