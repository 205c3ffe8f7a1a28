"""Training one cell and measuring it: the model, the clocks, the trainers, the cell.

Runs inside a process whose backend was chosen by ``suite.frameworks.select_backend``;
imports keras only inside functions, after that choice.
"""
