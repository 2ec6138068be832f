"""The root of netsim's exceptions.

Bad input and bugs raise; network outcomes (a drop, a REJECT, NXDOMAIN, no
route) never do: they are verdicts with a trace. Each layer subclasses
`NetsimError` in its own `errors` module; `InputError` marks the errors that
mean "the user's input is wrong" (the CLI exits 2 on them, without a traceback).
"""


class NetsimError(Exception):
    """Root of every error netsim raises on purpose."""


class InputError(NetsimError):
    """The user's input (a file, a flag, an object) is invalid."""


class NotImplementedFeature(NetsimError):
    """The input asks for a behaviour netsim does not emulate yet; the message names it."""
