"""LLM plumbing: client factory, cache, prompt rendering.

Reached only through ``fazhi.backends.llm``.

This file stays free of openai/instructor imports: the CLI calls ``quiet_reask_logs`` at every
start, and a rules-only run must not pay for loading the client (~0.8 s).
"""

import logging


def quiet_reask_logs() -> None:
    """Silence instructor's ERROR dump of every exhausted re-ask.

    The same failures are in the result's ``rejected`` list, one line each, so the dump only
    buries the progress and the tables printed around it.
    """
    logging.getLogger("instructor").setLevel(logging.CRITICAL)
