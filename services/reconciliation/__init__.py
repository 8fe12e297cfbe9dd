"""Razorpay's record against ours: link and refund sync, payments that arrive late."""
