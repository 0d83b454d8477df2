"""Choosing and building a backend from command-line options and the environment.

This is the one place that knows every backend, so the core never has to: the pipeline takes
whatever object this returns.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fazhi.errors import FazhiError

if TYPE_CHECKING:  # the backends are imported lazily: a rules run never loads the LLM client
    from fazhi.backends.llm import LLMBackend
    from fazhi.pipeline import Backend

BACKENDS = ("auto", "rules", "llm", "hybrid")
LLM_STYLES = ("label", "quote")  # label: the model labels numbers the code found (default)
# who wins where hybrid's labellers disagree (fazhi.backends.hybrid.POLICIES, docs/confidence.md)
HYBRID_PREFER = ("auto", "llm", "rules")


@dataclass
class LLMOptions:
    base_url: str | None = None
    model: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    mode: str | None = None
    concurrency: int = 4
    cache_dir: str | None = None
    use_cache: bool = True
    max_reasks: int = 2
    timeout: float = 120.0
    breaker_after: int = 5  # consecutive connection failures before the endpoint is given up
    llm_style: str = "label"
    context_tokens: int | None = None
    hybrid_prefer: str = "auto"
    max_tokens: int | None = None  # None: the style's default (a replay sets the recorded one)


class BackendChoiceError(FazhiError, ValueError):
    """A backend that cannot be built as asked (one line, for the user)."""


def _endpoint_and_model(opts: LLMOptions) -> tuple[str | None, str | None]:
    """The endpoint and model asked for: flags (or fazhi.toml, via the settings), else env."""
    return (
        opts.base_url or os.environ.get("OPENAI_BASE_URL"),
        opts.model or os.environ.get("FAZHI_MODEL"),
    )


def auto_choice(opts: LLMOptions) -> tuple[str, str]:
    """What ``auto`` becomes, and why, in words for stderr.

    The LLM only when an endpoint AND a model are configured: an API key alone (a user's
    ``OPENAI_API_KEY`` exported for other tools) or a model alone must never send a report to a
    hosted API unasked; the README's offline command keeps working whatever ``OPENAI_*`` is set.
    """
    base_url, model = _endpoint_and_model(opts)
    if base_url and model:
        return "llm", (
            f"endpoint and model {model!r} configured "
            "(--base-url/OPENAI_BASE_URL, --model/FAZHI_MODEL); --backend rules for the offline one"
        )
    if base_url:
        why = "an endpoint is configured but no model (--model or FAZHI_MODEL)"
    elif model:
        why = f"model {model!r} is configured but no endpoint (--base-url or OPENAI_BASE_URL)"
    else:
        why = "no LLM endpoint and model configured (--base-url and --model for the llm backend)"
    return "rules", why


def resolve_name(name: str, opts: LLMOptions, *, announce: bool = True) -> str:
    """``auto`` becomes ``llm`` with an endpoint and a model configured, else ``rules``."""
    if name not in BACKENDS:
        raise BackendChoiceError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    if name != "auto":
        return name
    chosen, why = auto_choice(opts)
    if announce:
        print(f"fazhi: backend auto → {chosen}: {why}", file=sys.stderr)
    return chosen


def make_backend(name: str, opts: LLMOptions | None = None, *, announce: bool = True) -> Backend:
    """The backend object for ``name`` (after resolving ``auto``)."""
    opts = opts or LLMOptions()
    name = resolve_name(name, opts, announce=announce)
    if name == "rules":
        from fazhi.backends.rules import RulesBackend

        return RulesBackend()
    if name == "hybrid" and opts.hybrid_prefer not in HYBRID_PREFER:
        raise BackendChoiceError(
            f"unknown hybrid preference {opts.hybrid_prefer!r}; choose one of "
            f"{', '.join(HYBRID_PREFER)}"
        )
    llm = _make_llm(opts)
    if name == "llm":
        return llm
    from fazhi.backends.hybrid import HybridBackend
    from fazhi.backends.rules import RulesBackend

    return HybridBackend(RulesBackend(), llm, prefer=opts.hybrid_prefer)  # type: ignore[arg-type]


def _make_llm(opts: LLMOptions) -> LLMBackend:
    from fazhi.backends.llm import LLMBackend

    base_url, model = _endpoint_and_model(opts)
    if not model:
        raise BackendChoiceError("the llm backend needs a model: pass --model or set FAZHI_MODEL")
    if opts.llm_style not in LLM_STYLES:
        raise BackendChoiceError(
            f"unknown LLM style {opts.llm_style!r}; choose one of {', '.join(LLM_STYLES)}"
        )
    # one set of options for both styles: a setting added to one cannot miss the other
    shared: dict[str, Any] = {
        "model": model,
        "base_url": base_url,
        "api_key_env": opts.api_key_env,
        "mode": opts.mode,
        "concurrency": opts.concurrency,
        "cache_dir": opts.cache_dir,
        "use_cache": opts.use_cache,
        "max_reasks": opts.max_reasks,
        "timeout": opts.timeout,
        "breaker_after": opts.breaker_after,
    }
    if opts.max_tokens is not None:
        shared["max_tokens"] = opts.max_tokens
    if opts.llm_style == "label":
        from fazhi.backends.llm_label import LabelBackend

        return LabelBackend(**shared, context_tokens=opts.context_tokens)
    return LLMBackend(**shared)
