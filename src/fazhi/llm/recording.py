"""How calls to a model server are recorded and replayed (vcrpy cassettes under ``cassettes/``).

One configuration for the recorder (``scripts/record_cassettes.py``) and the tests, so what is
recorded is what is replayed: requests match on method, URL and the JSON body (model, messages,
schema, parameters) -- a changed prompt or schema no longer matches and the replay fails loudly;
credentials and cookies are stripped before anything is written. ``vcrpy`` is a test/recording
dependency, imported only when a cassette is opened.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SECRET_HEADERS = (
    "authorization",
    "api-key",
    "x-api-key",
    "openai-organization",
    "openai-project",
    "cookie",
    "set-cookie",
)
MATCH_ON = ("method", "scheme", "host", "port", "path", "query", "body")


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in SECRET_HEADERS:
            del headers[name]
    return response


class ReadableYaml:
    """vcrpy serializer: safe YAML with Chinese written as itself, not as \\u escapes, so a
    cassette can be read (and grepped) by a reviewer."""

    @staticmethod
    def serialize(cassette: dict[str, Any]) -> str:
        import yaml

        return yaml.dump(cassette, Dumper=yaml.SafeDumper, allow_unicode=True, width=100)

    @staticmethod
    def deserialize(text: str) -> dict[str, Any]:
        import yaml

        return yaml.load(text, Loader=yaml.SafeLoader)


def use_cassette(path: str | Path, record_mode: str = "none", **options: Any):
    """A vcrpy cassette context; ``record_mode="none"`` (the default) never touches the network."""
    import vcr

    recorder = vcr.VCR(
        filter_headers=list(SECRET_HEADERS),
        match_on=MATCH_ON,
        record_mode=record_mode,
        decode_compressed_response=True,
        before_record_response=_scrub_response,
        serializer="readable_yaml",
    )
    recorder.register_serializer("readable_yaml", ReadableYaml)
    return recorder.use_cassette(str(path), **options)
