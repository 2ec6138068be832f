"""NetworkPolicy in each node's filter table, as kube-router's network policy controller writes it (rules.py)."""
