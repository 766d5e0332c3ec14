"""The benchmarks (``make bench-…``). A package so that a script's helpers and the tests import them by name
(``bench.gpu_lib``): ``make bench-gpu`` runs ``python -m bench.gpu`` from the repository."""
