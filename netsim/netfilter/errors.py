"""The netfilter layer's exceptions: bad ruleset text and engine misuse.

Network outcomes (DROP, REJECT, a rule netsim does not emulate) are verdicts,
never these.
"""

from __future__ import annotations

from netsim.errors import InputError, NetsimError


class NetfilterError(NetsimError):
    """Root of the netfilter layer's errors."""


class RulesetParseError(NetfilterError, InputError):
    """iptables-save/iptables-restore text that iptables-restore would refuse."""

    def __init__(self, source: str, line: int, problem: str) -> None:
        self.source = source
        self.line = line
        self.problem = problem
        super().__init__(f"{source}: line {line}: {problem}")

