"""Every ORM model, imported once so Alembic and the tests see the whole schema."""

from payamak.accounts import models as accounts_models
from payamak.db import Base

metadata = Base.metadata

__all__ = ["accounts_models", "metadata"]
