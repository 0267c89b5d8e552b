-- +goose Up
-- Money returned to customers, full or partial, for the order and for the reports.
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
CREATE INDEX orders_store_created ON orders (store_id, created_at);

-- +goose Down
DROP INDEX orders_store_created;
DROP TABLE refunds;
