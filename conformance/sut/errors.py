"""The one exception a target raises when the run cannot start at all."""


class TargetError(Exception):
    """Bad input or a SUT that cannot be started: the run stops with this message.

    The first line says what is wrong in one sentence; further lines (a SUT's
    last log lines) are optional detail.
    """
