"""A provider's Batch API (OpenAI-compatible ``/v1/files`` and ``/v1/batches``), plain dicts out.

Upload a JSONL file of requests (purpose ``batch``), create a batch over it for
``/v1/chat/completions`` in the 24 h window, retrieve its status (``validating``,
``in_progress``, ``finalizing``, then one of ``completed``, ``failed``, ``expired``,
``cancelled``; ``cancelling`` on the way), download its output and error files, cancel it.
The openai client retries 429/5xx and dropped connections itself here (a few calls per batch,
not thousands per run). A refusal or an unreachable endpoint is one ``BatchAPIError`` line
naming the URL (credentials masked).
"""

from __future__ import annotations

import os
from typing import Any

import openai

from fazhi.errors import FazhiError
from fazhi.llm.client import LOCAL_PLACEHOLDER_KEY, Endpoint
from fazhi.llm.redact import install_log_redaction, redact

COMPLETION_WINDOW = "24h"  # the only window providers offer
API_RETRIES = 3


class BatchAPIError(FazhiError):
    """The provider refused or could not be reached (one line; exit 2)."""


class ProviderBatches:
    """The Batch API of ``endpoint`` (its base URL and key variable), as ``fazhi.batch_jobs``
    needs it: each method returns the provider's object as a dict."""

    def __init__(self, endpoint: Endpoint, timeout: float = 120.0) -> None:
        install_log_redaction()
        self.url = endpoint.base_url
        key = os.environ.get(endpoint.api_key_env) or LOCAL_PLACEHOLDER_KEY
        self.client = openai.OpenAI(
            api_key=key, base_url=endpoint.base_url, timeout=timeout, max_retries=API_RETRIES
        )

    def upload(self, name: str, data: bytes) -> str:
        """The file id of ``data`` uploaded as ``name`` with purpose ``batch``."""
        upload = self.client.files.create
        return str(
            self._call("upload the batch file", upload, file=(name, data), purpose="batch").id
        )

    def create(self, input_file_id: str, url: str, metadata: dict[str, str]) -> dict[str, Any]:
        """A batch over the uploaded file's requests, all to ``url`` (/v1/chat/completions)."""
        batch = self._call(
            "create the batch", self.client.batches.create, input_file_id=input_file_id,
            endpoint=url, completion_window=COMPLETION_WINDOW, metadata=metadata,
        )  # fmt: skip
        return dict(batch.model_dump())

    def retrieve(self, batch_id: str) -> dict[str, Any]:
        return dict(
            self._call("read the batch", self.client.batches.retrieve, batch_id).model_dump()
        )

    def cancel(self, batch_id: str) -> dict[str, Any]:
        return dict(
            self._call("cancel the batch", self.client.batches.cancel, batch_id).model_dump()
        )

    def content(self, file_id: str) -> bytes:
        return bytes(
            self._call("download a batch file", self.client.files.content, file_id).content
        )

    def _call(self, what: str, method: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except openai.APIStatusError as exc:
            detail = redact(str(exc))[:200]
            raise BatchAPIError(
                f"cannot {what} at {redact(self.url)}: HTTP {exc.status_code}: {detail}"
            ) from None
        except openai.APIConnectionError as exc:
            raise BatchAPIError(
                f"cannot {what}: {redact(self.url)} is not reachable ({type(exc).__name__})"
            ) from None
