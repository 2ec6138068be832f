"""Controllers: each module holds one controller's reconcile step over the store.

A controller reads the store and writes changes back through it, like its
kube-controller-manager (or kube-scheduler) counterpart; `manager.py` runs
them in a fixed order until nothing changes.
"""
