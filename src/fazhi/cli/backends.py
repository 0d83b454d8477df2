"""Choosing and building a backend from command-line options and the environment.

This is the one place that knows every backend, so the core never has to: the pipeline takes
whatever object this returns.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

BACKENDS = ("auto", "rules", "llm", "hybrid")
LLM_STYLES = ("label", "quote")  # label: the model labels numbers the code found (default)


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
    llm_style: str = "label"
    context_tokens: int | None = None


class BackendChoiceError(ValueError):
    """A backend that cannot be built as asked (one line, for the user)."""


def llm_configured(opts: LLMOptions) -> bool:
    """An endpoint counts as configured when a URL is given or the environment names one."""
    return bool(
        opts.base_url or os.environ.get("OPENAI_BASE_URL") or os.environ.get(opts.api_key_env)
    )


def resolve_name(name: str, opts: LLMOptions, *, announce: bool = True) -> str:
    """``auto`` becomes ``llm`` with an endpoint configured, else ``rules``; said on stderr."""
    if name not in BACKENDS:
        raise BackendChoiceError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    if name != "auto":
        return name
    chosen = "llm" if llm_configured(opts) else "rules"
    if announce:
        hint = (
            "no LLM endpoint configured (set OPENAI_BASE_URL/OPENAI_API_KEY or --base-url for --backend llm)"
            if chosen == "rules"
            else "LLM endpoint configured (use --backend rules for the offline extractor)"
        )
        print(f"fazhi: backend auto → {chosen}: {hint}", file=sys.stderr)
    return chosen


def make_backend(name: str, opts: LLMOptions | None = None, *, announce: bool = True):
    """The backend object for ``name`` (after resolving ``auto``)."""
    opts = opts or LLMOptions()
    name = resolve_name(name, opts, announce=announce)
    if name == "rules":
        from fazhi.backends.rules import RulesBackend

        return RulesBackend()
    llm = _make_llm(opts)
    if name == "llm":
        return llm
    from fazhi.backends.hybrid import HybridBackend
    from fazhi.backends.rules import RulesBackend

    return HybridBackend(RulesBackend(), llm)


def _make_llm(opts: LLMOptions):
    from fazhi.backends.llm import LLMBackend

    base_url = opts.base_url or os.environ.get("OPENAI_BASE_URL")
    model = opts.model or os.environ.get("FAZHI_MODEL")
    if not model:
        raise BackendChoiceError("the llm backend needs a model: pass --model or set FAZHI_MODEL")
    if opts.llm_style not in LLM_STYLES:
        raise BackendChoiceError(
            f"unknown LLM style {opts.llm_style!r}; choose one of {', '.join(LLM_STYLES)}"
        )
    if opts.llm_style == "label":
        from fazhi.backends.llm_label import LabelBackend

        return LabelBackend(
            model=model, base_url=base_url, api_key_env=opts.api_key_env, mode=opts.mode,
            concurrency=opts.concurrency, cache_dir=opts.cache_dir, use_cache=opts.use_cache,
            max_reasks=opts.max_reasks, timeout=opts.timeout, context_tokens=opts.context_tokens,
        )  # fmt: skip
    return LLMBackend(
        model=model,
        base_url=base_url,
        api_key_env=opts.api_key_env,
        mode=opts.mode,
        concurrency=opts.concurrency,
        cache_dir=opts.cache_dir,
        use_cache=opts.use_cache,
        max_reasks=opts.max_reasks,
        timeout=opts.timeout,
    )
