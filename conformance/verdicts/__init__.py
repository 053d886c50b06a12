"""From test outcomes to per-requirement verdicts: the judgement, the baseline, redacted reports."""
