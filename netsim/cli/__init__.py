"""The `netsim` command."""
