"""The one exception for bad input from a user: a missing folder, an unwritable output folder.

Its message names the problem and the fix in one line, so a script can print it and exit::

    try:
        ...
    except InputError as error:
        sys.exit(f"error: {error}")
"""


class InputError(Exception):
    """Bad input from the user; the message says what is wrong and how to fix it."""
