"""LLM plumbing: client factory, cache, prompt rendering. Reached only through ``fazhi.backends.llm``."""
