"""The types every stage shares.

The data flow is ``Source -> [Chunk] -> [ChunkAnswer] (proposals) -> Draft -> verify -> Result``:
backends propose (``FigureProposal``, ``TextProposal``), ``merge`` collects a ``Draft``, and only
``fazhi.verify`` makes the verified ``Figure`` and ``TextItem`` (spans required). Gold files
have their own types (``GoldReport``, ``GoldFigure`` with ``optional``).
All offsets (``span``, ``raw_span``, ``Chunk.start``) are character offsets into
``Source.text`` -- the cleaned text the tool shows the user -- never into the raw file bytes.
Every model here is plain data: no I/O, no behaviour beyond parsing.
"""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

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


class FigureFields(BaseModel):
    """What every kind of figure states (a proposal, a verified figure, a gold label): one list
    of fields, so the three cannot drift apart; the JSON keeps this order first."""

    indicator: str
    value: int | float
    raw: str
    quote: str
    scope: str | None = None
    approx: bool = False


class FigureProposal(FigureFields):
    """A figure a backend proposes: what it says the report states, checked by nobody yet.

    Backends return these (in ``ChunkAnswer``); ``merge`` collects them into a ``Draft``; only
    ``fazhi.verify`` turns one into a ``Figure``.
    """

    chunk: int | None = None  # index of the chunk that proposed it (a hint for locating the quote)
    candidate: str | None = None  # label-style backends: the candidate id the model named ("n12")
    # carried through verification: the labellers that proposed it (hybrid sets them) and
    # review reasons already given (a result re-verified by ``fazhi verify`` keeps its own)
    sources: list[str] = Field(default_factory=list)
    review: list[str] = Field(default_factory=list)


class Figure(FigureFields):
    """One verified number of the report, in the gold format of ``evals/gold/README.md``.

    Made only by ``fazhi.verify``: ``span`` (the quote) and ``raw_span`` (the number inside it)
    are always there.
    """

    span: Span
    raw_span: Span
    chunk: int | None = None  # index of the chunk that proposed it
    # which labellers proposed it ("rules", "llm"); set after verify for every output figure
    sources: list[str] = Field(default_factory=list)
    # why a reader should check it (cross-checks, instruction-like sentence): never a silent fix
    review: list[str] = Field(default_factory=list)
    confidence: float | None = None  # 0..1 from documented signals (docs/confidence.md)

    def as_proposal(self) -> FigureProposal:
        """This figure proposed again (hybrid hands verified figures back to the pipeline)."""
        return FigureProposal.model_validate(self.model_dump(include=_PROPOSAL_FIELDS))


_PROPOSAL_FIELDS = set(FigureProposal.model_fields)


class GoldFigure(FigureFields):
    """One figure of a gold file (``evals/gold/README.md``): no spans needed."""

    optional: bool = False  # a loosely fitting figure: matching it counts, missing it does not


class TextProposal(BaseModel):
    """A passage a backend proposes as one shortcoming or one plan item."""

    quote: str
    chunk: int | None = None


class TextItem(BaseModel):
    """A verified verbatim passage: one admitted shortcoming or one plan item. Made only by
    ``fazhi.verify``."""

    quote: str
    span: Span
    chunk: int | None = None

    def as_proposal(self) -> TextProposal:
        return TextProposal(quote=self.quote, chunk=self.chunk)


class GoldText(BaseModel):
    """A gold shortcoming or plan item (gold files store bare strings)."""

    quote: str


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
    """What a backend proposes for one chunk, before merge and verification."""

    chunk: int
    figures: list[FigureProposal] = Field(default_factory=list)
    meta: Meta | None = None
    shortcomings: list[TextProposal] = Field(default_factory=list)
    plans: list[TextProposal] = Field(default_factory=list)
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


FigureT = TypeVar("FigureT", FigureProposal, Figure)
TextT = TypeVar("TextT", TextProposal, TextItem)


class Report(BaseModel, Generic[FigureT, TextT]):
    """The fields a draft and a verified result share (in the order the JSON output has)."""

    source: str = ""
    source_sha256: str = ""
    encoding: str | None = None  # the codec ingest decoded the file with ("" for pdf/docx)
    kind: SourceKind | None = None
    warnings: list[str] = Field(default_factory=list)  # ingest's notes on the source
    backend: str | None = None
    model: str | None = None
    prompt_version: str | None = None
    meta: Meta = Field(default_factory=Meta)
    figures: list[FigureT] = Field(default_factory=list)
    shortcomings: list[TextT] = Field(default_factory=list)
    plans: list[TextT] = Field(default_factory=list)
    rejected: list[Rejection] = Field(default_factory=list)
    conflicts: list[Conflict] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    chunks: int = 0
    chunk_errors: list[str] = Field(default_factory=list)
    failed_chunks: list[int] = Field(default_factory=list)  # indices of the chunks that failed
    caps_hit: list[str] = Field(default_factory=list)  # "chunk 3: max_figures=16"

    @field_validator("shortcomings", "plans", mode="before")
    @classmethod
    def _accept_bare_strings(cls, value: object) -> object:
        return _text_items(value)


class Draft(Report[FigureProposal, TextProposal]):
    """One report's proposals after ``merge``, before ``verify``: nothing here is vouched for.

    ``fazhi verify FILE`` reads a result or gold JSON as a draft (spans, ``optional``, status
    and the like are not read: verification settles them again).
    """


class Result(Report[Figure, TextItem]):
    """One report's verified extraction: made by ``fazhi.verify.verify`` only."""

    status: ResultStatus = "complete"  # set by pipeline.extract from the chunks' fate
    # every figure, meta field and text item was checked against the source, and at least one
    # chunk answered: never true on a result whose every chunk failed
    verified: bool = False


class GoldReport(BaseModel):
    """A gold file (``evals/gold/README.md``): what ``evaluate`` and ``fazhi eval`` score against.

    Fields of a result file beyond these are not read, so a result can serve as gold too.
    """

    source: str = ""
    meta: Meta = Field(default_factory=Meta)
    figures: list[GoldFigure] = Field(default_factory=list)
    shortcomings: list[GoldText] = Field(default_factory=list)
    plans: list[GoldText] = Field(default_factory=list)

    @field_validator("shortcomings", "plans", mode="before")
    @classmethod
    def _accept_bare_strings(cls, value: object) -> object:
        return _text_items(value)
