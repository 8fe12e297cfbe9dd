"""The clinic's own questions and answers, which the chat bot gives patients."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms.fields import SelectField

from admin.views.base import SecureModelView
from services.clinics.answers import TOPICS

TOPIC_CHOICES = [("", "— (matched by the question and keywords)")] + [
    (topic, topic.replace("_", " ").capitalize()) for topic in TOPICS
]


class ClinicAnswerView(SecureModelView):
    """Who edits it: whoever edits the clinic's settings (admin.permissions "settings").
    Saves and deletes go through services.clinics.catalog (validated, audited)."""

    resource = "settings"
    allow_delete = True
    column_list = ("question", "keywords", "topic", "active")
    column_searchable_list = ("question", "keywords")
    form_columns = (
        "question",
        "keywords",
        "question_hi",
        "answer_en",
        "answer_hi",
        "topic",
        "active",
    )
    form_overrides = {"topic": SelectField}
    form_args = {
        "question": {"description": _l("As patients ask it, e.g. Is there parking?")},
        "keywords": {
            "description": _l(
                "Words that should find this answer, separated by commas: parking, car, bike"
            )
        },
        "question_hi": {"label": _l("Question in Hindi (optional)")},
        "answer_en": {"label": _l("Answer (English)")},
        "answer_hi": {
            "label": _l("Answer in Hindi (optional)"),
            "description": _l(
                "Sent to contacts who chat in Hindi; without it they get the English."
            ),
        },
        "topic": {
            "choices": TOPIC_CHOICES,
            "description": _l(
                "Replace the bot's own answer to this topic (it answers fees, "
                "address, hours and more from the clinic's data)."
            ),
        },
    }
