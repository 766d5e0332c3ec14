"""The experiment matrix (``codecfake experiments``, ``make experiments MATRIX=…``): a matrix is a file.

A matrix preset (``configs/<name>.toml``, ``[matrix]``; ``matrix_spec``) lists cells of (task, back-end, optimiser,
extractor, any training option) with the paper's numbers beside each, trained once per seed. ``plan`` turns it into
runs with stable names and the exact ``codecfake train`` / ``evaluate`` commands (``protocol``: one run per training
generator held out); ``needs`` checks, before any training, that every feature set those runs read is in the store
and names the ``make features`` command for each one missing; ``execute`` runs them one after another or over
dask.distributed (``cluster``), each the ordinary resumable train + evaluate, a failed run reported without stopping
the others; ``board`` prints a line per run and the matrix's ETA; ``tables`` aggregates the results in the paper's
table layout. The demo (``codecfake demo``) runs its matrices through the same runner.
"""
