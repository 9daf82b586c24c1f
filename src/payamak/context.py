"""What one process shares: settings, the database, the password hasher, the way out for SMS."""

from __future__ import annotations

from dataclasses import dataclass, field

from payamak.accounts.security import Passwords
from payamak.config import Settings
from payamak.db import Database
from payamak.providers.base import OutgoingSms, Provider
from payamak.providers.simulator import RecordingProvider


@dataclass
class Context:
    settings: Settings
    db: Database
    passwords: Passwords
    # System messages (one-time codes) leave through this provider.
    system_sms: Provider = field(default_factory=RecordingProvider)

    @classmethod
    def create(cls, settings: Settings, *, passwords: Passwords | None = None) -> Context:
        settings.ensure_data_dir()
        return cls(
            settings=settings, db=Database(settings.sqlalchemy_url), passwords=passwords or Passwords()
        )

    async def send_system_sms(self, to: str, text: str) -> None:
        await self.system_sms.submit([OutgoingSms(to=to, text=text, reference="system")])

    def close(self) -> None:
        self.db.dispose()
