"""codecfake.corpus.build: writing corpora, never reading them (reading is ``codecfake.corpus``).

The offline mini-Codecfake demo corpus (``mini_codecfake.build_demo``: ``sources`` -> ``plan`` -> ``render`` through
the shared ``chain`` with ``codecs``, ``vocoders`` and ``neural``, then ``readme``), ``codecfake corpus synth``
(``synth``: a Codecfake-format set from any real speech) and ``tiny.make_tiny_corpus``, the few-second corpus in the
real on-disk formats that every stage's tests use. Each writes files that ``codecfake.corpus.load_manifest`` reads.
"""
