"""The application layer: the ``codecfake`` command line (``cli``: ``main``; ``parser``: the stages' commands wired
into one parser; ``dispatch``: the one way to run a command in this process) and the demo (``demo``).

It may import every stage; no stage imports it (tests/test_layers.py checks both).
"""
