"""Run xllamacpp's embedded llama.cpp server (OpenAI-compatible) until SIGTERM.

Started by ``scripts/serve-model`` with the python of the serving venv (which has xllamacpp);
it is not part of the fazhi package and never imported by it.

    python scripts/serve_model.py --model /path/model.gguf --alias qwen --port 18765
"""

from __future__ import annotations

import argparse
import os
import signal
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="path of the .gguf file")
    parser.add_argument("--alias", required=True, help="model name the server reports")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ctx", type=int, default=8192, help="context window in tokens")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args(argv)

    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.model_alias = {args.alias}
    params.hostnames = ["127.0.0.1"]  # never reachable from outside this machine
    params.port = args.port
    params.n_ctx = args.ctx  # the default 0 means the model's full window (32k for Qwen)
    params.n_parallel = (
        1  # 2 shared cores: one slot, so its prompt cache (the system prompt) is reused
    )
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.sampling.seed = 42  # requests use temperature 0; the seed only matters if one does not
    server = xllamacpp.Server(params)  # returns once the model is loaded
    print(
        f"serving {args.alias} on http://127.0.0.1:{args.port}/v1 (pid {os.getpid()})", flush=True
    )

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            signal.pause()
    finally:
        del server
    return 0


if __name__ == "__main__":
    sys.exit(main())
