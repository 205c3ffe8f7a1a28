"""The ground floor: settings, schemas, results, statistics, data, weights, files.

Everything here is plain Python and numpy; nothing imports keras or a framework
(``lint-imports`` forbids it, and tests/core/test_layers.py imports every module
here and checks that no framework was loaded). Every other layer may import it.
"""
