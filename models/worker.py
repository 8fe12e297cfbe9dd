"""Which job runners are alive: one row per process, refreshed while it runs.

Not clinic data (no ``clinic_id``): it describes the deployment. The database holds it,
not Redis, so the jobs check works while Redis is down.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class WorkerHeartbeat(Base):
    __tablename__ = "worker_heartbeat"

    # "<kind>:<host>:<pid>:<random>", unique per process start.
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # "worker" (RQ) or "web" (embedded mode)
    started_at: Mapped[datetime]
    seen_at: Mapped[datetime] = mapped_column(index=True)

    def __repr__(self) -> str:
        return f"<WorkerHeartbeat {self.name}>"
