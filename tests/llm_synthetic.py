"""Hand-written model answers for edge cases a real server will not produce on demand.

Used twice: ``scripts/make_synthetic_cassettes.py`` serves these answers from the loopback stub
and records the exchanges into ``cassettes/synthetic/``; ``tests/test_llm_backend.py`` replays
those cassettes offline. The source is two real passages of kunshan-2021; every answer below
was WRITTEN BY HAND to provoke one behaviour -- none of it is model output.
"""

from __future__ import annotations

from fazhi.model import Chunk, Source
from tests.llm_stub import answer, completion, reply

BASE_URL = "http://127.0.0.1:18799/v1"  # fixed so recorded URLs match at replay time
MODEL = "synthetic-stub"

PASSAGES = (
    "依法审理行政复议案件,市政府收到行政复议申请169件,受理138件,审结103件(含去年结转案件)。"
    "发挥行政复议化解行政争议的主渠道作用,调解和解结案42件,占比40.8%;撤销、确认违法等案件7件,"
    "直接纠错率6.8%,复议公信力明显提升。",
    "2021年组织开展矛盾排查4950次,预防纠纷激化2736件,劝阻群体性上访22批次448人,"
    "累计调处矛盾纠纷48547件,调解成功48495件,成功率99.9%,涉及金额3.48亿元。",
)


def source() -> Source:
    return Source(text="\n".join(PASSAGES), path="synthetic-kunshan-2021.txt")


def chunks(which: tuple[int, ...] = (0, 1)) -> list[Chunk]:
    text, out, start = source().text, [], 0
    for index, passage in enumerate(PASSAGES):
        start = text.index(passage, start)
        if index in which:
            heading = ("五、服务发展大局,依法妥善化解社会矛盾纠纷",)
            out.append(
                Chunk(
                    index=index,
                    text=passage,
                    start=start,
                    end=start + len(passage),
                    headings=heading,
                )
            )
    return out


def fig(quote: str, raw: str, indicator: str, scope: str | None = None) -> dict:
    return {"quote": quote, "raw": raw, "indicator": indicator, "scope": scope}


RECEIVED = fig("市政府收到行政复议申请169件", "169", "reconsideration.received", "市政府")
ACCEPTED = fig("受理138件", "138", "reconsideration.accepted", "市政府")
PARAPHRASED = fig("市政府共收到169件行政复议申请", "169", "reconsideration.received", "市政府")
CONCLUDED_REWORDED = fig("审结了103件", "103", "reconsideration.concluded", "市政府")
PIECE_OF_NUMBER = fig(
    "调解和解结案42件", "4", "reconsideration.mediated"
)  # "4" is not a whole number there
MEDIATION = fig("累计调处矛盾纠纷48547件", "48547", "disputes.mediation_cases")
# A mislabel a model could make: another chunk's number under the same indicator and scope.
ACCEPTED_ELSEWHERE = fig("调解成功48495件", "48495", "reconsideration.accepted", "市政府")

CUT_OFF = (
    '{"figures": [{"quote": "累计调处矛盾纠纷48547件", "raw": "48547", '
    '"indicator": "disputes.mediation_cases", "scope": null}, {"quote": "调解成功48'
)
PROSE = "好的，以下是摘录结果：累计调处矛盾纠纷48547件，调解成功48495件。"
RATE_LIMITED = reply(429, {"error": {"message": "rate limit"}}, {"retry-after": "2"})
SERVER_ERROR = reply(500, {"error": {"message": "internal error"}})
UNAVAILABLE = reply(503, {"error": {"message": "unavailable"}})
RETRY_ATTEMPTS = 3

# name -> (chunks it asks about, scripted replies in arrival order; requests go one at a time)
SCENARIOS: dict[str, tuple[tuple[int, ...], list[tuple]]] = {
    "paraphrase-then-literal": ((0,), [answer([PARAPHRASED]), answer([RECEIVED])]),
    "gave-up": ((0,), [answer([ACCEPTED, CONCLUDED_REWORDED, PIECE_OF_NUMBER])] * 3),
    "not-json": ((1,), [reply(200, completion(PROSE))] * 3),
    "truncated": (
        (1,),
        [reply(200, completion(CUT_OFF, finish_reason="length", completion_tokens=1024))],
    ),
    "rate-limited": ((1,), [RATE_LIMITED, answer([MEDIATION])]),
    "server-error": ((1,), [SERVER_ERROR, answer([MEDIATION])]),
    "conflict": ((0, 1), [answer([ACCEPTED]), answer([ACCEPTED_ELSEWHERE])]),
    "fails-for-good": ((0, 1), [UNAVAILABLE] * RETRY_ATTEMPTS + [answer([MEDIATION])]),
}
