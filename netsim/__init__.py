"""netsim: a packet-level emulator of Kubernetes cluster networking.

The package is layered (see DESIGN.md): api → sim → controllers → kubelet →
kubeproxy → dns → netfilter → dataplane → emulator → capture → verify → live → cli.
`NetsimError` is the root of every error the package raises on purpose.
"""

from netsim.errors import NetsimError, InputError

__all__ = ["NetsimError", "InputError"]
__version__ = "0.1.0"
