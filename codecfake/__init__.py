"""codecfake: detect audio deepfakes made by audio-language models and neural codecs.

Subpackages (top-level folders of the repository, mapped in by pyproject.toml):
``codecfake.corpus`` manifests and audio, ``codecfake.store`` the feature store, ``codecfake.extract`` SSL / mel
features into the store, ``codecfake.train`` back-ends and optimisers, ``codecfake.evaluate`` scores, EER, reports.
"""

__version__ = "0.1.0"
