-- +goose Up
-- Money returned to customers, full or partial, for the order and for the reports.
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
CREATE INDEX orders_store_created ON orders (store_id, created_at);

-- +goose Down
DROP INDEX orders_store_created;
DROP TABLE refunds;
