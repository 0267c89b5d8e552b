-- +goose Up
-- Hosted payments: the customer pays on the provider's page, so an order keeps no card detail
-- (card_brand and card_last4 go). An order pending payment holds its stock until reserved_until
-- (the store's reservation_minutes after checkout); the expiry job cancels it then. A charge row is
-- the payment intent, with the provider's session and the page the customer is sent to. Each
-- webhook event is recorded once, in the transaction that applies it.
ALTER TABLE orders DROP COLUMN card_brand;
ALTER TABLE orders DROP COLUMN card_last4;
ALTER TABLE orders ADD COLUMN reserved_until timestamptz;
CREATE INDEX orders_reservations ON orders (reserved_until) WHERE status = 'pending_payment';
ALTER TABLE payments ADD COLUMN session_id text NOT NULL DEFAULT '';
ALTER TABLE payments ADD COLUMN redirect_url text NOT NULL DEFAULT '';
CREATE INDEX payments_pending ON payments (created_at) WHERE state = 'pending';
ALTER TABLE stores ADD COLUMN reservation_minutes integer NOT NULL DEFAULT 15 CHECK (reservation_minutes BETWEEN 5 AND 1440);
CREATE TABLE payment_events (
    store_id    uuid NOT NULL,
    provider    text NOT NULL,
    id          text NOT NULL,
    kind        text NOT NULL,
    order_id    uuid NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (store_id, provider, id)
);
ALTER TABLE payment_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE payment_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON payment_events USING (store_id::text = current_setting('app.store_id', true) OR current_setting('app.store_id', true) = '*') WITH CHECK (store_id::text = current_setting('app.store_id', true));

-- +goose Down
DROP TABLE payment_events;
ALTER TABLE stores DROP COLUMN reservation_minutes;
DROP INDEX payments_pending;
ALTER TABLE payments DROP COLUMN redirect_url;
ALTER TABLE payments DROP COLUMN session_id;
DROP INDEX orders_reservations;
ALTER TABLE orders DROP COLUMN reserved_until;
ALTER TABLE orders ADD COLUMN card_last4 text NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN card_brand text NOT NULL DEFAULT '';
