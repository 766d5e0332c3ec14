"""codecfake.augment: audio augmentations as store variants (RawBoost, real codecs, resampling, low-pass, noise).

Layer: above ``codecfake.corpus`` and ``codecfake.corpus.build`` (whose codec drivers and alignment it reuses) and
the leaf modules; below ``extract`` (which runs variants in its decode workers), ``train`` (which reads the recipe
grammar and label rules) and ``evaluate`` (the robustness sweep). ``recipe`` is pure Python; ``rawboost``,
``channel`` and ``variant`` need numpy/scipy and load on demand.
"""

from __future__ import annotations
