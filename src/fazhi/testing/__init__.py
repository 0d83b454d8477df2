"""Test and benchmark tools. Nothing in the core imports this package.

``fazhi.testing.replay_server`` is a local OpenAI-compatible server that REPLAYS recorded
responses (or answers with a documented synthetic echo) and injects faults on a schedule. It is
not a model: anything it serves is either a recording or a deterministic stand-in.
"""
