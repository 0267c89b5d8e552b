-- +goose Up
-- Lets other tables point at a product of their own store only.
CREATE UNIQUE INDEX products_store_id ON products (store_id, id);
ALTER TABLE products ADD CONSTRAINT products_store_id_key UNIQUE USING INDEX products_store_id;
CREATE INDEX products_store_name ON products (store_id, name, id);
CREATE INDEX products_store_price ON products (store_id, price_amount, id);
CREATE INDEX products_store_newest ON products (store_id, created_at, id);

-- Full-text search over name and description.
ALTER TABLE products ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('english', name || ' ' || description)) STORED;
CREATE INDEX products_search ON products USING gin (search);

-- Every stock change, with who, why, how much and the level it left.
CREATE TABLE inventory_ledger (
    id          uuid PRIMARY KEY,
    store_id    uuid NOT NULL,
    product_id  uuid NOT NULL,
    delta       integer NOT NULL CHECK (delta <> 0),
    stock_after integer NOT NULL CHECK (stock_after >= 0),
    reason      text NOT NULL,
    actor_id    text NOT NULL,
    order_id    uuid,
    created_at  timestamptz NOT NULL,
    FOREIGN KEY (store_id, product_id) REFERENCES products (store_id, id)
);
CREATE INDEX inventory_ledger_product ON inventory_ledger (store_id, product_id, created_at);

CREATE TABLE cart_items (
    store_id   uuid NOT NULL,
    user_id    uuid NOT NULL REFERENCES users (id),
    product_id uuid NOT NULL,
    quantity   integer NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, product_id),
    FOREIGN KEY (store_id, product_id) REFERENCES products (store_id, id)
);

CREATE TABLE orders (
    id              uuid PRIMARY KEY,
    store_id        uuid NOT NULL REFERENCES stores (id),
    customer_id     uuid NOT NULL REFERENCES users (id),
    status          text NOT NULL CHECK (status IN ('pending_payment', 'paid', 'processing', 'shipped', 'delivered',
                        'cancelled', 'refunded', 'partially_refunded')),
    currency        text NOT NULL,
    total_amount    bigint NOT NULL CHECK (total_amount >= 0),
    refunded_amount bigint NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= total_amount),
    card_brand      text NOT NULL DEFAULT '',
    card_last4      text NOT NULL DEFAULT '',
    payment_ref     text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    UNIQUE (store_id, id)
);
CREATE INDEX orders_store_customer ON orders (store_id, customer_id, id);
CREATE INDEX orders_store_status ON orders (store_id, status, id);

CREATE TABLE order_lines (
    id         uuid PRIMARY KEY,
    store_id   uuid NOT NULL,
    order_id   uuid NOT NULL,
    product_id uuid NOT NULL,
    sku        text NOT NULL,
    name       text NOT NULL,
    unit_price bigint NOT NULL CHECK (unit_price >= 0),
    quantity   integer NOT NULL CHECK (quantity > 0),
    line_total bigint NOT NULL CHECK (line_total = unit_price * quantity),
    FOREIGN KEY (store_id, order_id) REFERENCES orders (store_id, id),
    FOREIGN KEY (store_id, product_id) REFERENCES products (store_id, id)
);
CREATE INDEX order_lines_order ON order_lines (order_id);

-- Order lines are a record of what was sold at what price: never changed once written.
-- +goose StatementBegin
CREATE FUNCTION order_lines_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'order_lines are immutable';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER order_lines_no_change BEFORE UPDATE OR DELETE ON order_lines
    FOR EACH ROW EXECUTE FUNCTION order_lines_immutable();

CREATE TABLE order_history (
    id          uuid PRIMARY KEY,
    store_id    uuid NOT NULL,
    order_id    uuid NOT NULL,
    from_status text NOT NULL,
    to_status   text NOT NULL,
    actor_id    text NOT NULL,
    actor_role  text NOT NULL,
    note        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    FOREIGN KEY (store_id, order_id) REFERENCES orders (store_id, id)
);
CREATE INDEX order_history_order ON order_history (order_id, created_at);

-- A checkout's Idempotency-Key and the order it made. The request is kept only as a keyed hash.
CREATE TABLE checkout_keys (
    store_id     uuid NOT NULL,
    user_id      uuid NOT NULL,
    key          text NOT NULL,
    request_hash text NOT NULL,
    order_id     uuid NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (store_id, user_id, key)
);

-- +goose Down
DROP TABLE checkout_keys;
DROP TABLE order_history;
DROP TABLE order_lines;
DROP FUNCTION order_lines_immutable();
DROP TABLE orders;
DROP TABLE cart_items;
DROP TABLE inventory_ledger;
DROP INDEX products_search;
ALTER TABLE products DROP COLUMN search;
DROP INDEX products_store_newest;
DROP INDEX products_store_price;
DROP INDEX products_store_name;
ALTER TABLE products DROP CONSTRAINT products_store_id_key;
