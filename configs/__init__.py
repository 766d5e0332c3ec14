"""Training presets (TOML): backend/*.toml and opt/*.toml, read by codecfake.train.config."""
