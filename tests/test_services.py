"""The real services the suite depends on can be reached (fails, never skips, when they cannot)."""

import sqlalchemy as sa


def test_store_url_accepts_queries(store_url: str) -> None:
    engine = sa.create_engine(store_url)
    with engine.connect() as connection:
        assert connection.execute(sa.text("select 1 + 1")).scalar_one() == 2
    engine.dispose()
