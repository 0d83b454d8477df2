"""Backends map chunks to ``ChunkAnswer``s; the pipeline merges and verifies whatever they say."""
