"""The integrity index (廉情指数) and the disposal records it counts."""
