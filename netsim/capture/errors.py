"""Errors of the capture layer: a capture asked for something pcapng cannot say.

Writing a packet is never a network outcome; a bad call (an unknown interface
id, a negative simulated time, two hosts mapping to one file name) is a bug
in the caller and raises.
"""

from __future__ import annotations

from netsim.errors import NetsimError


class CaptureError(NetsimError):
    """Root of the capture layer's errors."""


class InvalidCapture(CaptureError):
    """A capture call's argument is invalid; the message names the argument and its value."""
