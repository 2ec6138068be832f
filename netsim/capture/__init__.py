"""Capture points and pcapng writing (one interface block per NIC).

`netsim.capture.pcapng` writes pcapng bytes without scapy;
`netsim.capture.points.CaptureSet` owns one file per host and maps
(host, interface) to that file's interface blocks.
"""

from netsim.capture.pcapng import Direction, PcapngWriter
from netsim.capture.points import CaptureSet

__all__ = ["CaptureSet", "Direction", "PcapngWriter"]
