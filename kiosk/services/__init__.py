"""Use cases. Each owns its transaction (views never commit) and calls the domain."""
