"""A patient's timeline, the spans the screen flagged in a text, and the mood series.

The timeline merges journal entries, check-ins, grounding sessions, infusion
sessions, alerts, flagged chat messages, questionnaires (with every answer) and
intentions into one list, newest first. One
UNION ALL of (kind, id, time) rows, each part served by its table's
(patient_id, time) index, is sorted and cut to one page; only that page's
rows are then loaded. So a page costs the same for 100 entries or 10,000.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable, Optional, Sequence

from sqlalchemy import func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from bot.storage.models import (
    ChatMessage,
    CrisisAlert,
    GroundingSession,
    InfusionSession,
    Intention,
    JournalEntry,
    MoodCheckin,
    QuestionnaireResponse,
    SafetyAssessment,
    utcnow,
)

KINDS = ("journal", "checkin", "grounding", "infusion", "alert", "chat", "questionnaire", "intention")
KIND_NAMES = {
    "journal": "Journal entries",
    "checkin": "Check-ins",
    "grounding": "Grounding",
    "infusion": "Infusions",
    "alert": "Alerts",
    "chat": "Flagged chat messages",
    "questionnaire": "Questionnaires",
    "intention": "Intentions",
}
# Kinds that carry text a search can match, and kinds that can be flagged.
TEXT_KINDS = ("journal", "chat", "infusion", "intention")
FLAGGABLE_KINDS = ("journal", "chat", "alert")
LEVEL_RANK = {"none": 0, "review": 1, "urgent": 2, "emergency": 3}
MAX_QUERY_CHARS = 200


@dataclass(frozen=True)
class TimelineFilter:
    """What the reader asked for: kinds, a text search, flagged only, a date range."""

    kinds: tuple[str, ...] = KINDS
    query: str = ""
    flagged_only: bool = False
    since: Optional[datetime] = None
    until: Optional[datetime] = None


@dataclass(frozen=True)
class Segment:
    """A run of text, the numbers of the findings covering all of it (none for plain
    text), and the numbers of the findings that end with it."""

    text: str
    covering: tuple[int, ...] = ()
    ends: tuple[int, ...] = ()
    level: str = "none"


@dataclass(frozen=True)
class Highlighted:
    """A text cut into segments; `findings` are numbered from 1 in text order, and
    `unplaced` holds findings whose span could not be found in the text."""

    segments: tuple[Segment, ...]
    findings: tuple[dict, ...] = ()
    unplaced: tuple[dict, ...] = ()

    def labels(self, numbers: Iterable[int]) -> str:
        """The hover text of the findings numbered `numbers`."""
        return "; ".join(finding_label(self.findings[n - 1]) for n in numbers)


@dataclass
class TimelineItem:
    """One row of the timeline."""

    kind: str
    id: int
    at: datetime
    record: Any
    assessment: Optional[SafetyAssessment] = None
    highlighted: Optional[Highlighted] = None

    @property
    def level(self) -> str:
        """The screen level of the item, or of the alert; `none` otherwise."""
        if self.kind == "alert":
            return self.record.level
        if self.kind == "questionnaire":
            return "urgent" if self.record.crisis_at is not None else "none"
        return self.assessment.level if self.assessment is not None else "none"


@dataclass
class TimelinePage:
    """One page of the timeline, and where it sits among the others."""

    items: list[TimelineItem]
    page: int
    pages: int
    total: int
    per_page: int
    counts: dict[str, int] = field(default_factory=dict)


def highlight(text: str, findings: Iterable[dict]) -> Highlighted:
    """Cut `text` at every finding's start and end, so nested and overlapping spans
    become runs that each list every finding covering them.

    A span that does not fit the text (out of range, or not matching the text
    the screen saw there when that is recorded) is searched for by its text;
    if it cannot be found it is returned in `unplaced`, never dropped.
    """
    text = text or ""
    placed: list[tuple[int, int, dict]] = []
    unplaced: list[dict] = []
    for finding in findings or ():
        if not isinstance(finding, dict):
            continue
        span = _place(text, finding)
        if span is None:
            unplaced.append(finding)
        else:
            placed.append((span[0], span[1], finding))
    placed.sort(key=lambda p: (p[0], -p[1]))
    cuts = sorted({0, len(text), *(s for s, _, _ in placed), *(e for _, e, _ in placed)})
    segments: list[Segment] = []
    for start, end in zip(cuts, cuts[1:]):
        covering = tuple(n for n, (s, e, _) in enumerate(placed, 1) if s <= start and end <= e)
        if segments and not covering and not segments[-1].covering:
            segments[-1] = Segment(segments[-1].text + text[start:end])
            continue
        ends = tuple(n for n in covering if placed[n - 1][1] == end)
        level = max((placed[n - 1][2].get("level", "review") for n in covering),
                    key=lambda lv: LEVEL_RANK.get(lv, 1), default="none")
        segments.append(Segment(text[start:end], covering, ends, level if level in LEVEL_RANK else "review"))
    if not segments:
        segments.append(Segment(text))
    return Highlighted(tuple(segments), tuple(f for _, _, f in placed), tuple(unplaced))


def _place(text: str, finding: dict) -> Optional[tuple[int, int]]:
    start, end = finding.get("start"), finding.get("end")
    seen = finding.get("text")
    if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text):
        if not seen or text[start:end] == seen:
            return start, end
    if seen:
        at = text.find(seen)
        if at >= 0:
            return at, at + len(seen)
    return None


def finding_label(finding: dict) -> str:
    """`urgent · suicidal ideation · rule si.passive`, for a title attribute."""
    parts = [finding.get("level", "?"), str(finding.get("category", "?")).replace("_", " "),
             f"rule {finding.get('rule', '?')}"]
    modifiers = finding.get("modifiers") or []
    if modifiers:
        parts.append("context: " + ", ".join(str(m) for m in modifiers))
    return " · ".join(parts)


def _like(query: str) -> str:
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


FLAGGED_LEVELS = ("review", "urgent", "emergency")


def _flagged_ids(patient_id: int, column):
    """Ids of the patient's entries (or messages) with a finding: a few rows read
    through ix_assessment_patient_level, rather than one lookup per entry."""
    return (select(column)
            .where(SafetyAssessment.patient_id == patient_id,
                   SafetyAssessment.level.in_(FLAGGED_LEVELS), column.is_not(None)))


def _parts(patient_id: int, filters: TimelineFilter) -> list[tuple]:
    """One (kind, select, time column, id column) per kind asked for."""
    query = filters.query.strip()[:MAX_QUERY_CHARS]
    kinds = [k for k in filters.kinds if k in KINDS]
    if query:
        kinds = [k for k in kinds if k in TEXT_KINDS]
    if filters.flagged_only:
        kinds = [k for k in kinds if k in FLAGGABLE_KINDS]
    like = _like(query)
    parts = []
    for kind in kinds:
        if kind == "journal":
            part = select(literal("journal").label("kind"), JournalEntry.id.label("id"),
                          JournalEntry.created_at.label("at")).where(JournalEntry.patient_id == patient_id)
            if query:
                part = part.where(or_(JournalEntry.text.ilike(like, escape="\\"),
                                      JournalEntry.follow_up_text.ilike(like, escape="\\")))
            if filters.flagged_only:
                part = part.where(JournalEntry.id.in_(
                    _flagged_ids(patient_id, SafetyAssessment.journal_entry_id)))
            column, ident = JournalEntry.created_at, JournalEntry.id
        elif kind == "chat":
            part = (select(literal("chat").label("kind"), ChatMessage.id.label("id"),
                           ChatMessage.created_at.label("at"))
                    .where(ChatMessage.patient_id == patient_id, ChatMessage.direction == "patient",
                           ChatMessage.id.in_(_flagged_ids(patient_id, SafetyAssessment.chat_message_id))))
            if query:
                part = part.where(ChatMessage.text.ilike(like, escape="\\"))
            column, ident = ChatMessage.created_at, ChatMessage.id
        elif kind == "checkin":
            part = select(literal("checkin").label("kind"), MoodCheckin.id.label("id"),
                          MoodCheckin.created_at.label("at")).where(MoodCheckin.patient_id == patient_id)
            column, ident = MoodCheckin.created_at, MoodCheckin.id
        elif kind == "grounding":
            part = select(literal("grounding").label("kind"), GroundingSession.id.label("id"),
                          GroundingSession.started_at.label("at")).where(
                GroundingSession.patient_id == patient_id)
            column, ident = GroundingSession.started_at, GroundingSession.id
        elif kind == "infusion":
            part = select(literal("infusion").label("kind"), InfusionSession.id.label("id"),
                          InfusionSession.occurred_at.label("at")).where(
                InfusionSession.patient_id == patient_id)
            if query:
                part = part.where(InfusionSession.notes.ilike(like, escape="\\"))
            column, ident = InfusionSession.occurred_at, InfusionSession.id
        elif kind == "questionnaire":
            part = select(literal("questionnaire").label("kind"), QuestionnaireResponse.id.label("id"),
                          QuestionnaireResponse.started_at.label("at")).where(
                QuestionnaireResponse.patient_id == patient_id)
            column, ident = QuestionnaireResponse.started_at, QuestionnaireResponse.id
        elif kind == "intention":
            part = select(literal("intention").label("kind"), Intention.id.label("id"),
                          Intention.created_at.label("at")).where(Intention.patient_id == patient_id)
            if query:
                part = part.where(Intention.text.ilike(like, escape="\\"))
            column, ident = Intention.created_at, Intention.id
        else:
            part = select(literal("alert").label("kind"), CrisisAlert.id.label("id"),
                          CrisisAlert.created_at.label("at")).where(CrisisAlert.patient_id == patient_id)
            column, ident = CrisisAlert.created_at, CrisisAlert.id
        if filters.since is not None:
            part = part.where(column >= filters.since)
        if filters.until is not None:
            part = part.where(column < filters.until)
        parts.append((kind, part, column, ident))
    return parts


def timeline_page(
    session: Session,
    patient_id: int,
    filters: TimelineFilter = TimelineFilter(),
    page: int = 1,
    per_page: int = 25,
) -> TimelinePage:
    """One page of a patient's timeline, newest first."""
    parts = _parts(patient_id, filters)
    if not parts:
        return TimelinePage([], 1, 1, 0, per_page)
    counts = {kind: session.scalar(select(func.count()).select_from(part.subquery())) or 0
              for kind, part, _, _ in parts}
    total = sum(counts.values())
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    # No kind can hold more than offset + per_page of the rows wanted, so each part
    # is cut there (walking its own time index) before the merge sorts them.
    depth = page * per_page
    limited = [select(sub.c.kind, sub.c.id, sub.c.at).select_from(sub) for sub in (
        part.order_by(column.desc(), ident.desc()).limit(depth).subquery()
        for kind, part, column, ident in parts if counts[kind])]
    if not limited:
        return TimelinePage([], page, pages, total, per_page, counts)
    merged = union_all(*limited).subquery()
    rows = session.execute(
        select(merged.c.kind, merged.c.id, merged.c.at)
        .order_by(merged.c.at.desc(), merged.c.kind, merged.c.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    items = _load(session, [(kind, id_) for kind, id_, _ in rows])
    return TimelinePage(items, page, pages, total, per_page, counts)


MODELS = {
    "journal": (JournalEntry, "created_at"),
    "checkin": (MoodCheckin, "created_at"),
    "grounding": (GroundingSession, "started_at"),
    "infusion": (InfusionSession, "occurred_at"),
    "alert": (CrisisAlert, "created_at"),
    "chat": (ChatMessage, "created_at"),
    "questionnaire": (QuestionnaireResponse, "started_at"),
    "intention": (Intention, "created_at"),
}


def _load(session: Session, keys: Sequence[tuple[str, int]]) -> list[TimelineItem]:
    wanted: dict[str, list[int]] = {}
    for kind, id_ in keys:
        wanted.setdefault(kind, []).append(id_)
    records: dict[tuple[str, int], Any] = {}
    for kind, ids in wanted.items():
        model, _ = MODELS[kind]
        for record in session.scalars(select(model).where(model.id.in_(ids))):
            records[(kind, record.id)] = record
    assessments = latest_assessments(session, wanted.get("journal", ()), wanted.get("chat", ()))
    items = []
    for kind, id_ in keys:
        record = records.get((kind, id_))
        if record is None:
            continue
        assessment = assessments.get((kind, id_))
        item = TimelineItem(kind, id_, getattr(record, MODELS[kind][1]), record, assessment)
        if kind in ("journal", "chat"):
            item.highlighted = highlight(record.text, assessment.findings if assessment else ())
        items.append(item)
    return items


def latest_assessments(session: Session, entry_ids: Iterable[int] = (),
                       message_ids: Iterable[int] = ()) -> dict[tuple[str, int], SafetyAssessment]:
    """The newest assessment of each journal entry and chat message named."""
    out: dict[tuple[str, int], SafetyAssessment] = {}
    entry_ids, message_ids = list(entry_ids), list(message_ids)
    if entry_ids:
        for a in session.scalars(select(SafetyAssessment)
                                 .where(SafetyAssessment.journal_entry_id.in_(entry_ids))
                                 .order_by(SafetyAssessment.id)):
            out[("journal", a.journal_entry_id)] = a
    if message_ids:
        for a in session.scalars(select(SafetyAssessment)
                                 .where(SafetyAssessment.chat_message_id.in_(message_ids))
                                 .order_by(SafetyAssessment.id)):
            out[("chat", a.chat_message_id)] = a
    return out


def journal_entries(session: Session, patient_id: int, *, saved_only: bool = False,
                    page: Optional[int] = None, per_page: int = 25):
    """A patient's journal entries, newest first: all of them, or one page
    (then returns (entries, page, pages))."""
    query = select(JournalEntry).where(JournalEntry.patient_id == patient_id)
    if saved_only:
        query = query.where(JournalEntry.status == "saved")
    query = query.order_by(JournalEntry.created_at.desc(), JournalEntry.id.desc())
    if page is None:
        return list(session.scalars(query))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    entries = list(session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return entries, page, pages


def mood_series(session: Session, patient_id: int, days: int = 90,
                now: Optional[datetime] = None, limit: int = 2000) -> dict[str, list]:
    """Mood, anxiety and distress over the last `days`, and the infusion times,
    as [epoch milliseconds, value] pairs oldest first, for a chart."""
    since = (now or utcnow()) - timedelta(days=days)
    checkins = session.execute(
        select(MoodCheckin.created_at, MoodCheckin.mood, MoodCheckin.anxiety)
        .where(MoodCheckin.patient_id == patient_id, MoodCheckin.created_at >= since)
        .order_by(MoodCheckin.created_at.desc()).limit(limit)
    ).all()
    grounding = session.execute(
        select(GroundingSession.started_at, GroundingSession.ended_at,
               GroundingSession.distress_before, GroundingSession.distress_after)
        .where(GroundingSession.patient_id == patient_id, GroundingSession.started_at >= since)
        .order_by(GroundingSession.started_at.desc()).limit(limit)
    ).all()
    infusions = session.scalars(
        select(InfusionSession.occurred_at)
        .where(InfusionSession.patient_id == patient_id, InfusionSession.occurred_at >= since,
               InfusionSession.status != "cancelled")
        .order_by(InfusionSession.occurred_at)
    ).all()
    distress = []
    for started, ended, before, after in grounding:
        if before is not None:
            distress.append([_ms(started), before])
        if after is not None:
            distress.append([_ms(ended or started), after])
    return {
        "mood": [[_ms(at), v] for at, v, _ in reversed(checkins) if v is not None],
        "anxiety": [[_ms(at), v] for at, _, v in reversed(checkins) if v is not None],
        "distress": sorted(distress),
        "infusions": [_ms(at) for at in infusions],
        "since": _ms(since),
    }


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
