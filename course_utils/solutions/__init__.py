"""Reference solutions and checkers of the exercises, one module per chapter (``chNN.py``)."""
