"""What users come for: traffic to send, and readable answers about where it went."""
