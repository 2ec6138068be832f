"""L7: HTTP messages, ingress-nginx's choice of backend for an Ingress, and Gateway API route matching and status."""
