"""The billing migration seeds what a fresh installation needs to sell credit and price a send."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

from payamak.billing import service as billing
from payamak.billing.pricing import DEFAULT_TARIFFS
from payamak.db import Database, alembic_config, upgrade


def test_fresh_database_has_default_tariffs_vat_and_packages(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    upgrade(url)
    db = Database(url)
    try:
        with db.transaction(readonly=True) as session:
            rows, builtin = billing.tariffs(session)
            stored = {(t.kind, t.encoding, t.operator, t.line_prefix, t.price) for t in rows}
            assert not builtin and stored == set(DEFAULT_TARIFFS)
            assert billing.vat_percent(session) == 10
            packages = billing.packages(session)
            assert [p.price for p in packages] == [2_000_000, 10_000_000, 50_000_000]
            assert all(p.credit >= p.price and p.active for p in packages)
            table = billing.price_table(session, kind="advertising", encoding="UCS-2", line="50001")
            assert table.per_message("MCI", 1) == 1_650
    finally:
        db.dispose()
    command.downgrade(alembic_config(url), "0003@-1")  # this branch only
    engine = sa.create_engine(url)
    try:
        names = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert not names & {"tariffs", "packages", "payments", "ledger_entries", "credit_holds", "billing_config"}
