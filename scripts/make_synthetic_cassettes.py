"""Write ``cassettes/synthetic/*.yaml``: HAND-WRITTEN answers (tests/llm_synthetic.py) served by
a loopback stub and recorded through the real client stack, so request bodies match what the
backend sends. No model is involved. Re-run after any prompt or schema change:

    python scripts/make_synthetic_cassettes.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.llm_stub / tests.llm_synthetic

from tests import llm_synthetic as synthetic  # noqa: E402
from tests.llm_stub import running_stub  # noqa: E402

from fazhi.backends.llm import LLMBackend  # noqa: E402
from fazhi.llm.client import RetryPolicy  # noqa: E402
from fazhi.llm.recording import use_cassette  # noqa: E402

OUT = ROOT / "cassettes" / "synthetic"
PORT = int(synthetic.BASE_URL.rsplit(":", 1)[1].split("/")[0])


async def _no_sleep(seconds: float) -> None:
    pass


def backend() -> LLMBackend:
    return LLMBackend(
        model=synthetic.MODEL, base_url=synthetic.BASE_URL, concurrency=1, use_cache=False,
        retry=RetryPolicy(attempts=synthetic.RETRY_ATTEMPTS, sleep=_no_sleep),
    )  # fmt: skip


def record(name: str, which: tuple[int, ...], script: list[tuple]) -> None:
    cassette = OUT / f"{name}.yaml"
    cassette.unlink(missing_ok=True)
    with running_stub(script, port=PORT) as stub, use_cassette(cassette, record_mode="all"):
        answers = backend().answer(synthetic.chunks(which), synthetic.source())
    left = len(stub.script)
    print(f"{name}: {len(stub.requests)} request(s), {left} scripted repl(ies) unused, "
          f"{sum(len(a.figures) for a in answers)} figure(s) kept")  # fmt: skip
    if left:
        raise SystemExit(f"{name}: the script has unused replies; the scenario is wrong")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (which, script) in synthetic.SCENARIOS.items():
        record(name, which, script)
    return 0


if __name__ == "__main__":
    sys.exit(main())
