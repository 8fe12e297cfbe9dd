"""SMS text in GSM-7, the plain SMS alphabet: 160 characters a part instead of 70 in UCS-2."""

from __future__ import annotations

# GSM-7 has none of these; one of them turns a whole SMS into UCS-2 (70 chars a part).
_SMS_PLAIN = str.maketrans(
    {
        "—": "-",
        "–": "-",
        "‘": "'",
        "’": "'",
        "“": '"',
        "”": '"',
        "…": "...",
        "·": "-",
        "•": "-",
        "₹": "Rs ",
        "\u00a0": " ",
        "✅": "",
        "⏰": "",
        "💳": "",
        "🌼": "",
    }
)


def sms_plain(text: str) -> str:
    """Swap typographic characters for GSM-7 ones where a plain one reads the same."""
    lines = [" ".join(line.translate(_SMS_PLAIN).split()) for line in text.split("\n")]
    return "\n".join(lines).strip()
