-- +goose Up
-- The payments ledger: every charge and refund, pending until the gateway answers, with the
-- gateway's reference. An order's paid and refunded figures and the sales reports are sums over
-- it; the order keeps no total or reference of its own (refunded_amount, payment_ref and the
-- refunds table go). Returns record what came back of each order line (on a cancellation or a
-- refund with restock), so that no line is returned twice; each has its row in the inventory
-- ledger as well. Idempotency keys of every POST that moves money or stock (checkout's keys
-- included) share one table. Cart lines keep the unit price the customer accepted.
CREATE TABLE payments (
    id           uuid PRIMARY KEY,
    store_id     uuid NOT NULL,
    order_id     uuid NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('charge', 'refund')),
    state        text NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
    amount       bigint NOT NULL CHECK (amount > 0),
    currency     text NOT NULL,
    provider     text NOT NULL,
    provider_ref text NOT NULL DEFAULT '',
    failure      text NOT NULL DEFAULT '',
    reason       text NOT NULL DEFAULT '',
    actor_id     text NOT NULL,
    created_at   timestamptz NOT NULL,
    settled_at   timestamptz,
    FOREIGN KEY (store_id, order_id) REFERENCES orders (store_id, id)
);
CREATE INDEX payments_order ON payments (store_id, order_id);
CREATE INDEX payments_store_settled ON payments (store_id, settled_at);

INSERT INTO payments (id, store_id, order_id, kind, state, amount, currency, provider, provider_ref, actor_id, created_at, settled_at)
    SELECT id, store_id, id, 'charge', 'succeeded', total_amount, currency, 'dummy', payment_ref, customer_id::text, created_at, created_at
    FROM orders WHERE payment_ref <> '' AND total_amount > 0;
INSERT INTO payments (id, store_id, order_id, kind, state, amount, currency, provider, provider_ref, reason, actor_id, created_at, settled_at)
    SELECT r.id, r.store_id, r.order_id, 'refund', 'succeeded', r.amount, o.currency, 'dummy', '', r.reason, r.actor_id, r.created_at, r.created_at
    FROM refunds r JOIN orders o ON o.store_id = r.store_id AND o.id = r.order_id;
DROP TABLE refunds;
ALTER TABLE orders DROP COLUMN refunded_amount;
ALTER TABLE orders DROP COLUMN payment_ref;
-- The reports read the ledger by when money moved; nothing reads orders by their date any more.
DROP INDEX orders_store_created;

ALTER TABLE order_lines ADD CONSTRAINT order_lines_store_order_id UNIQUE (store_id, order_id, id);
CREATE TABLE order_returns (
    id         uuid PRIMARY KEY,
    store_id   uuid NOT NULL,
    order_id   uuid NOT NULL,
    line_id    uuid NOT NULL,
    quantity   integer NOT NULL CHECK (quantity > 0),
    reason     text NOT NULL,
    actor_id   text NOT NULL,
    created_at timestamptz NOT NULL,
    FOREIGN KEY (store_id, order_id, line_id) REFERENCES order_lines (store_id, order_id, id)
);
CREATE INDEX order_returns_order ON order_returns (store_id, order_id);

CREATE TABLE idempotency_keys (
    store_id     uuid NOT NULL,
    user_id      uuid NOT NULL,
    key          text NOT NULL,
    request_hash text NOT NULL,
    result_id    uuid NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (store_id, user_id, key)
);
INSERT INTO idempotency_keys SELECT store_id, user_id, key, request_hash, order_id, created_at FROM checkout_keys;
DROP TABLE checkout_keys;

ALTER TABLE cart_items ADD COLUMN unit_price bigint;

ALTER TABLE payments ENABLE ROW LEVEL SECURITY;
ALTER TABLE payments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON payments USING (store_id::text = current_setting('app.store_id', true) OR current_setting('app.store_id', true) = '*') WITH CHECK (store_id::text = current_setting('app.store_id', true));
ALTER TABLE order_returns ENABLE ROW LEVEL SECURITY;
ALTER TABLE order_returns FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON order_returns USING (store_id::text = current_setting('app.store_id', true) OR current_setting('app.store_id', true) = '*') WITH CHECK (store_id::text = current_setting('app.store_id', true));
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON idempotency_keys USING (store_id::text = current_setting('app.store_id', true) OR current_setting('app.store_id', true) = '*') WITH CHECK (store_id::text = current_setting('app.store_id', true));

-- +goose Down
ALTER TABLE cart_items DROP COLUMN unit_price;
CREATE TABLE checkout_keys (
    store_id     uuid NOT NULL,
    user_id      uuid NOT NULL,
    key          text NOT NULL,
    request_hash text NOT NULL,
    order_id     uuid NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (store_id, user_id, key)
);
INSERT INTO checkout_keys SELECT store_id, user_id, key, request_hash, result_id, created_at FROM idempotency_keys;
ALTER TABLE checkout_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE checkout_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON checkout_keys USING (store_id::text = current_setting('app.store_id', true) OR current_setting('app.store_id', true) = '*') WITH CHECK (store_id::text = current_setting('app.store_id', true));
DROP TABLE idempotency_keys;
DROP TABLE order_returns;
ALTER TABLE order_lines DROP CONSTRAINT order_lines_store_order_id;
ALTER TABLE orders ADD COLUMN refunded_amount bigint NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN payment_ref text NOT NULL DEFAULT '';
CREATE INDEX orders_store_created ON orders (store_id, created_at);
UPDATE orders SET refunded_amount = COALESCE((SELECT SUM(amount) FROM payments p WHERE p.store_id = orders.store_id
    AND p.order_id = orders.id AND p.kind = 'refund' AND p.state = 'succeeded'), 0),
    payment_ref = COALESCE((SELECT MIN(provider_ref) FROM payments p WHERE p.store_id = orders.store_id
    AND p.order_id = orders.id AND p.kind = 'charge' AND p.state = 'succeeded'), '');
ALTER TABLE orders ADD CONSTRAINT orders_refunded_amount_check CHECK (refunded_amount >= 0 AND refunded_amount <= total_amount);
CREATE TABLE refunds (
    id         uuid PRIMARY KEY,
    store_id   uuid NOT NULL,
    order_id   uuid NOT NULL,
    amount     bigint NOT NULL CHECK (amount > 0),
    reason     text NOT NULL,
    restocked  boolean NOT NULL DEFAULT false,
    actor_id   text NOT NULL,
    created_at timestamptz NOT NULL,
    FOREIGN KEY (store_id, order_id) REFERENCES orders (store_id, id)
);
CREATE INDEX refunds_store_created ON refunds (store_id, created_at);
INSERT INTO refunds (id, store_id, order_id, amount, reason, actor_id, created_at)
    SELECT id, store_id, order_id, amount, reason, actor_id, created_at FROM payments WHERE kind = 'refund' AND state = 'succeeded';
ALTER TABLE refunds ENABLE ROW LEVEL SECURITY;
ALTER TABLE refunds FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON refunds USING (store_id::text = current_setting('app.store_id', true) OR current_setting('app.store_id', true) = '*') WITH CHECK (store_id::text = current_setting('app.store_id', true));
DROP TABLE payments;
