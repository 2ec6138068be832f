"""Authentication and authorization as the API server does them: RBAC (rbac.py), its bootstrap policy, CSR signing."""
