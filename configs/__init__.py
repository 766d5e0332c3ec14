"""Presets (TOML), installed as the package data ``codecfake.configs``.

``demo.toml``: every choice of the demo (read by codecfake.app.demo.preset). ``backend/<name>.toml`` and
``opt/<name>.toml`` (none ship): per back-end / optimiser departures from TrainConfig's defaults, read by
codecfake.train.config.
"""
