"""Plain-Python rules of the product: no Flask, no database session.

Everything here takes plain values and returns plain values, so it can be tested
without an application and reused by the counter and back office later.
"""
