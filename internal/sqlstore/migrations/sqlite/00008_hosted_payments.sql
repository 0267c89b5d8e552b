-- +goose Up
-- Hosted payments: the customer pays on the provider's page, so an order keeps no card detail
-- (card_brand and card_last4 go). An order pending payment holds its stock until reserved_until
-- (the store's reservation_minutes after checkout); the expiry job cancels it then. A charge row is
-- the payment intent, with the provider's session and the page the customer is sent to. Each
-- webhook event is recorded once, in the transaction that applies it.
ALTER TABLE orders DROP COLUMN card_brand;
ALTER TABLE orders DROP COLUMN card_last4;
ALTER TABLE orders ADD COLUMN reserved_until TEXT;
CREATE INDEX orders_reservations ON orders (reserved_until) WHERE status = 'pending_payment';
ALTER TABLE payments ADD COLUMN session_id TEXT NOT NULL DEFAULT '';
ALTER TABLE payments ADD COLUMN redirect_url TEXT NOT NULL DEFAULT '';
CREATE INDEX payments_pending ON payments (created_at) WHERE state = 'pending';
ALTER TABLE stores ADD COLUMN reservation_minutes INTEGER NOT NULL DEFAULT 15 CHECK (reservation_minutes BETWEEN 5 AND 1440);
CREATE TABLE payment_events (
    store_id    TEXT NOT NULL,
    provider    TEXT NOT NULL,
    id          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    order_id    TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (store_id, provider, id)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE payment_events;
ALTER TABLE stores DROP COLUMN reservation_minutes;
DROP INDEX payments_pending;
ALTER TABLE payments DROP COLUMN redirect_url;
ALTER TABLE payments DROP COLUMN session_id;
DROP INDEX orders_reservations;
ALTER TABLE orders DROP COLUMN reserved_until;
ALTER TABLE orders ADD COLUMN card_last4 TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN card_brand TEXT NOT NULL DEFAULT '';
