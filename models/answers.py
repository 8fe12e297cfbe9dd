"""The clinic's own answers to patients' questions, written by staff in the panel."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, ClinicOwned, Timestamped


class ClinicAnswer(ClinicOwned, Timestamped, Base):
    """A question patients ask (with keywords, optionally in Hindi) and the clinic's answer.

    With a ``topic`` (one the bot answers from the clinic's data, e.g. "fee") it replaces
    the bot's own answer to that topic.
    """

    __tablename__ = "clinic_answer"

    id: Mapped[int] = mapped_column(primary_key=True)
    question: Mapped[str] = mapped_column(String(300))
    keywords: Mapped[str | None] = mapped_column(String(300))
    question_hi: Mapped[str | None] = mapped_column(String(300))
    answer_en: Mapped[str] = mapped_column(Text)
    answer_hi: Mapped[str | None] = mapped_column(Text)
    topic: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (
        CheckConstraint("length(answer_en) BETWEEN 1 AND 1000", name="answer_length"),
    )

    def __str__(self) -> str:
        return self.question
