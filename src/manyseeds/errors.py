"""Errors that the user can fix (bad paths, bad files, bad flags).

A `UserError` is shown by the CLI as one line on stderr with exit code 2 and no
traceback; anything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A problem with the user's input, explained in one line."""

    exit_code = 2
