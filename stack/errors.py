"""The one exception type the CLI reports as a plain message instead of a traceback."""


class StackError(Exception):
    pass
