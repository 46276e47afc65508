"""The approval dashboard's server side: the durable store, its rules, users and tokens.

Needs the ``dashboard`` extra (and ``postgresql`` for a ``postgresql://`` store); nothing here is
imported by the core package, which stays importable without these libraries (and under Pyodide).
The store's contract is :mod:`hitl_widget.dashboard.store`.
"""
