"""The chat: conversation rows, outbox, catalogue, rendering, delivery, hand-off to staff."""
