"""Typed errors of the evaluate stage; each message names the object, what was expected, what was found, the fix."""

from codecfake.errors import CodecfakeError


class EvaluationError(CodecfakeError):
    """Scores or labels cannot be evaluated (empty condition, non-finite scores, unknown labels)."""


class ScoreFileError(EvaluationError):
    """A score file is missing or malformed."""


class NoTestSets(EvaluationError):
    """No feature set in the store matches the run's extractor and array."""


class RunReportError(EvaluationError):
    """A run directory lacks what a report needs (scores, report.json)."""


class TrialMismatch(EvaluationError):
    """Two runs compared trial by trial did not score the same trials (utt_ids or labels differ)."""
