"""User-facing errors.

`InputError` is raised for every mistake a user can fix (a bad file, column, value or option). The CLI
prints its message as one line and exits with status 2, without a traceback. Library callers get a normal
exception they can catch.
"""


class InputError(ValueError):
    """A problem with user input; the message names the file, column or value at fault."""
