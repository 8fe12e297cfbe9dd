"""Sessions in time: availability, booking, holds, reschedule requests."""
