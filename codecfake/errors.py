"""The root of every error the toolkit raises on purpose.

Each stage defines its own typed errors (``FeatureSetMismatch``, ``CorruptAudio`` …) as subclasses so that the CLI can
print them as one clean line (what, where, how to fix) and exit with status 2 instead of a traceback.
"""


class CodecfakeError(Exception):
    """Base class: the message names the file or object, what was expected, what was found, and the fix."""
