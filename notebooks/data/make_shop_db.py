"""Write shop.sqlite, the data-analysis notebook's database: the same rows on every run.

    python notebooks/data/make_shop_db.py [OUT]     (default: notebooks/data/shop.sqlite, replaced)

A small web shop's year: 400 customers in 8 countries (12 of them test accounts with
``@example.test`` addresses, left over from a load test), 30 products in 5 categories, 3,000
orders placed in 2025 (paid, refunded or cancelled; prices in cents), and a leftover table
``import_2023`` (200 rows) from an old migration. Only the standard library; every value
comes from one seeded ``random.Random``, so the rows (``sqlite3 .dump``) never change.
"""

from __future__ import annotations

import random
import sqlite3
import sys
from datetime import date, timedelta
from pathlib import Path

SEED = 20251231
OUT = Path(__file__).resolve().parent / "shop.sqlite"

COUNTRIES = [("DE", 0.22), ("FR", 0.16), ("GB", 0.15), ("NL", 0.11), ("ES", 0.1), ("IT", 0.1), ("SE", 0.08), ("PL", 0.08)]
FIRST = ["Ada", "Ben", "Chloé", "Dario", "Emma", "Femi", "Greta", "Hugo", "Ines", "Jonas", "Kasia", "Luca", "Maja", "Nils"]
LAST = ["Berg", "Costa", "Dubois", "Eriksen", "Fischer", "García", "Horvat", "Jansen", "Kowalski", "Moreau", "Rossi", "Smith"]
CATEGORIES = {
    "coffee": ["Espresso beans 1 kg", "Filter roast 500 g", "Decaf 250 g", "Single origin Ethiopia", "Cold brew", "Sampler box"],
    "tea": ["Green sencha", "Earl grey", "Rooibos", "Chai blend", "Matcha tin", "Herbal mix"],
    "equipment": ["Hand grinder", "Pour-over kit", "Moka pot", "Milk frother", "Scale", "Kettle"],
    "cups": ["Ceramic mug", "Travel cup", "Espresso cups (2)", "Glass tumbler", "Tea bowl", "Thermos"],
    "gifts": ["Gift card 25", "Gift card 50", "Tasting class", "Subscription 3 months", "Tote bag", "Calendar"],
}
N_CUSTOMERS, N_TEST_ACCOUNTS, N_ORDERS, N_IMPORT_ROWS = 400, 12, 3000, 200
YEAR_START = date(2025, 1, 1)

SCHEMA = """
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    country TEXT NOT NULL,
    signed_up TEXT NOT NULL          -- ISO date
);
CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    price_cents INTEGER NOT NULL
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    product_id INTEGER NOT NULL REFERENCES products(id),
    quantity INTEGER NOT NULL,
    ordered_at TEXT NOT NULL,        -- ISO date, 2025
    status TEXT NOT NULL CHECK (status IN ('paid', 'refunded', 'cancelled')),
    total_cents INTEGER NOT NULL
);
CREATE INDEX orders_by_customer ON orders(customer_id);
CREATE TABLE import_2023 (
    id INTEGER PRIMARY KEY,
    legacy_ref TEXT NOT NULL,
    payload TEXT NOT NULL
);
"""


def build(path: Path) -> None:
    """Write the database to ``path`` (replacing it)."""
    rng = random.Random(SEED)
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    try:
        con.executescript(SCHEMA)
        countries = [c for c, _ in COUNTRIES]
        weights = [w for _, w in COUNTRIES]
        customers = []
        for i in range(1, N_CUSTOMERS + 1):
            signed_up = (date(2022, 1, 1) + timedelta(days=rng.randrange(3 * 365))).isoformat()
            if i > N_CUSTOMERS - N_TEST_ACCOUNTS:
                n = i - (N_CUSTOMERS - N_TEST_ACCOUNTS)
                customers.append((i, f"Test User {n}", f"loadtest{n}@example.test", "DE", "2025-03-14"))
                continue
            first, last = rng.choice(FIRST), rng.choice(LAST)
            email = f"{first.lower()}.{last.lower()}{i}@mail.example".replace("é", "e").replace("í", "i")
            customers.append((i, f"{first} {last}", email, rng.choices(countries, weights)[0], signed_up))
        con.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?)", customers)
        products = []
        for category, names in CATEGORIES.items():
            for name in names:
                products.append((len(products) + 1, name, category, rng.randrange(3, 90) * 100 + rng.choice([0, 50, 90])))
        con.executemany("INSERT INTO products VALUES (?, ?, ?, ?)", products)
        orders = []
        test_ids = range(N_CUSTOMERS - N_TEST_ACCOUNTS + 1, N_CUSTOMERS + 1)
        for i in range(1, N_ORDERS + 1):
            if rng.random() < 0.012:  # the load test: a burst of orders from test accounts on one day
                customer, day = rng.choice(test_ids), date(2025, 3, 14)
            else:
                customer = rng.randrange(1, N_CUSTOMERS - N_TEST_ACCOUNTS + 1)
                # busier towards the end of the year (Christmas)
                day = YEAR_START + timedelta(days=min(364, int(365 * rng.random() ** 0.8)))
            product = rng.choice(products)
            quantity = rng.choices([1, 2, 3, 4], [0.7, 0.2, 0.07, 0.03])[0]
            status = rng.choices(["paid", "refunded", "cancelled"], [0.9, 0.06, 0.04])[0]
            orders.append((i, customer, product[0], quantity, day.isoformat(), status, quantity * product[3]))
        con.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?)", orders)
        rows = [(i, f"LEG-{rng.randrange(10**6):06d}", f'{{"v": {rng.randrange(1000)}}}') for i in range(1, N_IMPORT_ROWS + 1)]
        con.executemany("INSERT INTO import_2023 VALUES (?, ?, ?)", rows)
        con.commit()
        con.execute("VACUUM")
    finally:
        con.close()


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else OUT
    build(out)
    con = sqlite3.connect(out)
    tables = ("customers", "products", "orders", "import_2023")
    counts = {t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}
    con.close()
    print(f"wrote {out} ({out.stat().st_size:,} bytes): {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
