"""Helpers the tests import: reference data, clocks, the API harness, the pipeline chain.

Fixtures stay in the `conftest.py` files (pytest finds them there); anything a test module
imports by name lives here, so no test imports a `conftest.py`.
"""
