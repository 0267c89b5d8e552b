-- +goose NO TRANSACTION
-- +goose Up
-- The payments ledger: every charge and refund, pending until the gateway answers, with the
-- gateway's reference. An order's paid and refunded figures and the sales reports are sums over
-- it; the order keeps no total or reference of its own (refunded_amount, payment_ref and the refunds
-- table go).
-- Returns record what came back of each order line (on a cancellation or a refund with restock),
-- so that no line is returned twice; each has its row in the inventory ledger as well.
-- Idempotency keys of every POST that moves money or stock (checkout's keys included) share one
-- table: the result they made, and a keyed hash of the request that made it.
-- Cart lines keep the unit price the customer accepted, so that checkout can refuse a changed one.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE payments (
    id              TEXT NOT NULL,
    store_id        TEXT NOT NULL,
    order_id        TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('charge', 'refund')),
    state           TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
    amount          INTEGER NOT NULL CHECK (amount > 0),
    currency        TEXT NOT NULL,
    provider        TEXT NOT NULL,
    provider_ref    TEXT NOT NULL DEFAULT '',
    failure         TEXT NOT NULL DEFAULT '',
    reason          TEXT NOT NULL DEFAULT '',
    actor_id        TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    settled_at      TEXT,
    PRIMARY KEY (store_id, order_id, id),
    FOREIGN KEY (store_id, order_id) REFERENCES orders (store_id, id)
) WITHOUT ROWID;
CREATE INDEX payments_store_settled ON payments (store_id, settled_at);

-- What the old tables said, as ledger rows: a paid order's charge, and each refund.
INSERT INTO payments (id, store_id, order_id, kind, state, amount, currency, provider, provider_ref, actor_id, created_at, settled_at)
    SELECT id, store_id, id, 'charge', 'succeeded', total_amount, currency, 'dummy', payment_ref, customer_id, created_at, created_at
    FROM orders WHERE payment_ref <> '' AND total_amount > 0;
INSERT INTO payments (id, store_id, order_id, kind, state, amount, currency, provider, provider_ref, reason, actor_id, created_at, settled_at)
    SELECT r.id, r.store_id, r.order_id, 'refund', 'succeeded', r.amount, o.currency, 'dummy', '', r.reason, r.actor_id, r.created_at, r.created_at
    FROM refunds r JOIN orders o ON o.store_id = r.store_id AND o.id = r.order_id;
DROP TABLE refunds;
ALTER TABLE orders DROP COLUMN refunded_amount;
ALTER TABLE orders DROP COLUMN payment_ref;
-- The reports read the ledger by when money moved; nothing reads orders by their date any more.
DROP INDEX orders_store_created;

CREATE TABLE order_returns (
    id         TEXT NOT NULL,
    store_id   TEXT NOT NULL,
    order_id   TEXT NOT NULL,
    line_id    TEXT NOT NULL,
    quantity   INTEGER NOT NULL CHECK (quantity > 0),
    reason     TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (store_id, order_id, id),
    FOREIGN KEY (store_id, order_id, line_id) REFERENCES order_lines (store_id, order_id, id)
) WITHOUT ROWID;

CREATE TABLE idempotency_keys (
    store_id     TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    result_id    TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (store_id, user_id, key)
) WITHOUT ROWID;
INSERT INTO idempotency_keys SELECT store_id, user_id, key, request_hash, order_id, created_at FROM checkout_keys;
DROP TABLE checkout_keys;

ALTER TABLE cart_items ADD COLUMN unit_price INTEGER;

CREATE TEMP TABLE fk_violations (n INTEGER CHECK (n = 0));
INSERT INTO fk_violations SELECT COUNT(*) FROM pragma_foreign_key_check;
DROP TABLE fk_violations;
COMMIT;
PRAGMA foreign_keys = ON;

-- +goose Down
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
ALTER TABLE cart_items DROP COLUMN unit_price;
CREATE TABLE checkout_keys (
    store_id     TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    order_id     TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (store_id, user_id, key)
);
INSERT INTO checkout_keys SELECT store_id, user_id, key, request_hash, result_id, created_at FROM idempotency_keys;
DROP TABLE idempotency_keys;
DROP TABLE order_returns;
ALTER TABLE orders ADD COLUMN refunded_amount INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN payment_ref TEXT NOT NULL DEFAULT '';
CREATE INDEX orders_store_created ON orders (store_id, created_at);
UPDATE orders SET payment_ref = COALESCE((SELECT MIN(provider_ref) FROM payments p WHERE p.store_id = orders.store_id
    AND p.order_id = orders.id AND p.kind = 'charge' AND p.state = 'succeeded'), '');
UPDATE orders SET refunded_amount = COALESCE((SELECT SUM(amount) FROM payments p WHERE p.store_id = orders.store_id
    AND p.order_id = orders.id AND p.kind = 'refund' AND p.state = 'succeeded'), 0);
CREATE TABLE refunds (
    id         TEXT PRIMARY KEY,
    store_id   TEXT NOT NULL,
    order_id   TEXT NOT NULL,
    amount     INTEGER NOT NULL CHECK (amount > 0),
    reason     TEXT NOT NULL,
    restocked  INTEGER NOT NULL DEFAULT 0,
    actor_id   TEXT NOT NULL,
    created_at TEXT NOT NULL,
    FOREIGN KEY (store_id, order_id) REFERENCES orders (store_id, id)
);
CREATE INDEX refunds_store_created ON refunds (store_id, created_at);
INSERT INTO refunds (id, store_id, order_id, amount, reason, actor_id, created_at)
    SELECT id, store_id, order_id, amount, reason, actor_id, created_at FROM payments WHERE kind = 'refund' AND state = 'succeeded';
DROP TABLE payments;
COMMIT;
PRAGMA foreign_keys = ON;
