"""The conversation layer's arrows point one way: the engine imports the flows, the flows
import ``flows.dialog`` and each other (language ← answers ← pending ← payment ←
free_times ← booking_when ← booking_delivery ← booking_confirm ← booking_course ←
booking ← waitlist ← my_appointments ← onboarding), and any of them may use the pure
helpers ``flows.parsing`` and ``flows.names``.
The layers around it (no service imports ``flows``, no function-local imports, no cycles)
are held by tests/test_layers.py."""

from __future__ import annotations

from tests.test_layers import ROOT, imports

# Each flow may import only the flows listed after it.
FLOW_ORDER = [
    "engine",
    "routing",
    "corrections",
    "onboarding",
    "my_appointments",
    "waitlist",
    "booking",
    "booking_course",
    "booking_confirm",
    "booking_delivery",
    "booking_when",
    "free_times",
    "payment",
    "pending",
    "answers",
    "language",
    "attachments",
    "exercises",
    "dialog",
]


def test_the_flows_form_a_chain_below_the_engine() -> None:
    found = imports(ROOT)
    for position, flow in enumerate(FLOW_ORDER):
        allowed = {f"flows.{name}" for name in FLOW_ORDER[position + 1 :]} | {
            "flows.parsing",
            "flows.names",
        }
        imported = {
            i.target
            for i in found
            if i.source == f"flows.{flow}"
            and i.target.startswith("flows.")
            and not i.target.startswith("flows.understanding")  # the language layer, below all
        }
        assert imported <= allowed, (flow, imported - allowed)
        if flow != "dialog":
            assert imported, f"flows.{flow} imports no other flow: is the walk reading it?"
