"""Every ORM model, imported once so Alembic and the tests see the whole schema."""

from payamak.accounts import models as accounts_models
from payamak.billing import models as billing_models  # noqa: F401
from payamak.compat import models as compat_models  # noqa: F401
from payamak.db import Base
from payamak.dispatch import models as dispatch_models
from payamak.phonebook import models as phonebook_models  # noqa: F401
from payamak.sending import blacklist_models as blacklist_models
from payamak.sending import models as sending_models

metadata = Base.metadata

__all__ = ["accounts_models", "dispatch_models", "metadata", "sending_models"]
