"""The kubelet's part: registering each Node, and the lifecycle of the pods bound to it."""
