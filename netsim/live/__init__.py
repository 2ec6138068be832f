"""The emulated cluster built again in real Linux network namespaces, and the differential check against the kernel."""
