"""A pack's life beside its rules: examples, parameters, deployments, history."""
