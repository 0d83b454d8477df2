"""The types every stage shares.

The data flow is ``Source -> [Chunk] -> [ChunkAnswer] -> Result (draft) -> Result (verified)``.
All offsets (``span``, ``raw_span``, ``Chunk.start``) are character offsets into
``Source.text`` -- the cleaned text the tool shows the user -- never into the raw file bytes.
Every model here is plain data: no I/O, no behaviour beyond parsing.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Span = tuple[int, int]
SourceKind = Literal["txt", "html", "pdf", "docx"]
IndicatorKind = Literal["count", "percent", "money"]
# complete: every chunk answered and no cap was hit; partial: some chunks failed or hit a cap
# (the result holds what the others gave); failed: nothing usable (no chunk answered, the file
# could not be read, the backend raised, the deadline passed).
ResultStatus = Literal["complete", "partial", "failed"]


class Source(BaseModel):
    """A report as text. ``text`` is what offsets refer to."""

    model_config = ConfigDict(frozen=True)

    text: str
    path: str = ""
    encoding: str = "utf-8"
    kind: SourceKind = "txt"
    sha256: str = ""  # of the original file bytes: the identity of a report in a batch
    warnings: tuple[str, ...] = ()  # what ingest repaired or removed (damaged bytes, residue)


class Chunk(BaseModel):
    """A slice ``source.text[start:end]`` with the headings it sits under."""

    model_config = ConfigDict(frozen=True)

    index: int
    text: str
    start: int
    end: int
    headings: tuple[str, ...] = ()


class Figure(BaseModel):
    """One number the report states, in the gold format of ``evals/gold/README.md``.

    ``span`` (the quote) and ``raw_span`` (the number inside it) are filled by the verifier only.
    """

    indicator: str
    value: int | float
    raw: str
    quote: str
    scope: str | None = None
    approx: bool = False
    optional: bool = False  # gold only: a loosely fitting figure, never a miss
    span: Span | None = None
    raw_span: Span | None = None
    chunk: int | None = None  # index of the chunk that proposed it (a hint for locating the quote)
    # which labellers proposed it ("rules", "llm"); set after verify for every output figure
    sources: list[str] = Field(default_factory=list)
    # why a reader should check it (cross-checks, instruction-like sentence): never a silent fix
    review: list[str] = Field(default_factory=list)
    confidence: float | None = None  # 0..1 from documented signals (docs/confidence.md)


class TextItem(BaseModel):
    """A verbatim passage: one admitted shortcoming or one plan item."""

    quote: str
    span: Span | None = None
    chunk: int | None = None


class Meta(BaseModel):
    region: str | None = None
    issuer: str | None = None
    year: int | None = None
    published: str | None = None  # ISO date, YYYY-MM-DD


RejectionCode = Literal[
    "unknown_indicator",
    "quote_not_in_source",
    "raw_not_in_quote",
    "quote_cuts_number",
    "value_mismatch",
    "unparseable_raw",
    "number_not_in_source",
    "kind_mismatch",
    "bad_meta",
    "model_gave_up",
    "outvoted",  # hybrid: a verified label the other labeller's label won over (kept, not used)
]


class Rejection(BaseModel):
    """Something a backend proposed that did not verify, and why. Never silently dropped."""

    what: Literal["figure", "meta", "shortcoming", "plan"]
    code: RejectionCode
    reason: str
    item: dict = Field(default_factory=dict)
    chunk: int | None = None


class Conflict(BaseModel):
    """The same indicator and scope stated with different values: both kept, flagged here."""

    indicator: str
    scope: str | None
    values: list[int | float]


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    reasks: int = 0
    cached: int = 0  # calls answered from the cache

    def __add__(self, other: Usage) -> Usage:
        return Usage(**{k: getattr(self, k) + getattr(other, k) for k in Usage.model_fields})


class ChunkAnswer(BaseModel):
    """What a backend says about one chunk, before merge and verification."""

    chunk: int
    figures: list[Figure] = Field(default_factory=list)
    meta: Meta | None = None
    shortcomings: list[TextItem] = Field(default_factory=list)
    plans: list[TextItem] = Field(default_factory=list)
    rejected: list[Rejection] = Field(default_factory=list)  # what the backend itself gave up on
    usage: Usage = Field(default_factory=Usage)
    error: str | None = None  # a chunk whose call failed for good: recorded, the report goes on
    # limits the answer ran into ("max_figures=16", "max_tokens=2048"): it may be incomplete
    caps_hit: list[str] = Field(default_factory=list)


def _text_items(value: object) -> object:
    # Gold files store text items as bare strings; results store objects with spans.
    if isinstance(value, list):
        return [{"quote": v} if isinstance(v, str) else v for v in value]
    return value


class Result(BaseModel):
    """One report's extraction. Also reads gold files, which are a subset of these fields."""

    source: str = ""
    source_sha256: str = ""
    encoding: str | None = None  # the codec ingest decoded the file with ("" for pdf/docx)
    kind: SourceKind | None = None
    warnings: list[str] = Field(default_factory=list)  # ingest's notes on the source
    backend: str | None = None
    model: str | None = None
    prompt_version: str | None = None
    meta: Meta = Field(default_factory=Meta)
    figures: list[Figure] = Field(default_factory=list)
    shortcomings: list[TextItem] = Field(default_factory=list)
    plans: list[TextItem] = Field(default_factory=list)
    rejected: list[Rejection] = Field(default_factory=list)
    conflicts: list[Conflict] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    chunks: int = 0
    chunk_errors: list[str] = Field(default_factory=list)
    failed_chunks: list[int] = Field(default_factory=list)  # indices of the chunks that failed
    caps_hit: list[str] = Field(default_factory=list)  # "chunk 3: max_figures=16"
    status: ResultStatus = "complete"  # set by pipeline.extract from the chunks' fate
    # every figure, meta field and text item was checked against the source, and at least one
    # chunk answered: never true on a result whose every chunk failed
    verified: bool = False

    @field_validator("shortcomings", "plans", mode="before")
    @classmethod
    def _accept_bare_strings(cls, value: object) -> object:
        return _text_items(value)
