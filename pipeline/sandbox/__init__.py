"""What every vendor twin shares: the request cycle, a loopback server, faults, limits, a log.

Each vendor's twin lives in its own folder (`pipeline/vendors/<vendor>/sandbox.py`), built from
the vendor's contract rather than from our client, so the tests find out whether the extractors
obey the real rules. `python -m pipeline.sandbox` serves the twins for manual runs.
"""
