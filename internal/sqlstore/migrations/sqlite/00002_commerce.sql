-- +goose Up
-- Lets other tables point at a product of their own store only.
CREATE UNIQUE INDEX products_store_id ON products (store_id, id);
CREATE INDEX products_store_name ON products (store_id, name, id);
CREATE INDEX products_store_price ON products (store_id, price_amount, id);
CREATE INDEX products_store_newest ON products (store_id, created_at, id);

-- Full-text search over name and description (FTS5, kept in step by triggers).
CREATE VIRTUAL TABLE products_fts USING fts5 (name, description, content = 'products', content_rowid = 'rowid',
    tokenize = 'porter unicode61 remove_diacritics 2');
-- +goose StatementBegin
CREATE TRIGGER products_fts_insert AFTER INSERT ON products BEGIN
    INSERT INTO products_fts (rowid, name, description) VALUES (new.rowid, new.name, new.description);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER products_fts_delete AFTER DELETE ON products BEGIN
    INSERT INTO products_fts (products_fts, rowid, name, description) VALUES ('delete', old.rowid, old.name, old.description);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER products_fts_update AFTER UPDATE OF name, description ON products BEGIN
    INSERT INTO products_fts (products_fts, rowid, name, description) VALUES ('delete', old.rowid, old.name, old.description);
    INSERT INTO products_fts (rowid, name, description) VALUES (new.rowid, new.name, new.description);
END;
-- +goose StatementEnd
INSERT INTO products_fts (products_fts) VALUES ('rebuild');

-- Every stock change, with who, why, how much and the level it left.
CREATE TABLE inventory_ledger (
    id          TEXT PRIMARY KEY,
    store_id    TEXT NOT NULL,
    product_id  TEXT NOT NULL,
    delta       INTEGER NOT NULL CHECK (delta <> 0),
    stock_after INTEGER NOT NULL CHECK (stock_after >= 0),
    reason      TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    order_id    TEXT,
    created_at  TEXT NOT NULL,
    FOREIGN KEY (store_id, product_id) REFERENCES products (store_id, id)
);
CREATE INDEX inventory_ledger_product ON inventory_ledger (store_id, product_id, created_at);

CREATE TABLE cart_items (
    store_id   TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id),
    product_id TEXT NOT NULL,
    quantity   INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (user_id, product_id),
    FOREIGN KEY (store_id, product_id) REFERENCES products (store_id, id)
);

CREATE TABLE orders (
    id             TEXT PRIMARY KEY,
    store_id       TEXT NOT NULL REFERENCES stores (id),
    customer_id    TEXT NOT NULL REFERENCES users (id),
    status         TEXT NOT NULL CHECK (status IN ('pending_payment', 'paid', 'processing', 'shipped', 'delivered',
                       'cancelled', 'refunded', 'partially_refunded')),
    currency       TEXT NOT NULL,
    total_amount   INTEGER NOT NULL CHECK (total_amount >= 0),
    refunded_amount INTEGER NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= total_amount),
    card_brand     TEXT NOT NULL DEFAULT '',
    card_last4     TEXT NOT NULL DEFAULT '',
    payment_ref    TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    UNIQUE (store_id, id)
);
CREATE INDEX orders_store_customer ON orders (store_id, customer_id, id);
CREATE INDEX orders_store_status ON orders (store_id, status, id);

CREATE TABLE order_lines (
    id          TEXT PRIMARY KEY,
    store_id    TEXT NOT NULL,
    order_id    TEXT NOT NULL,
    product_id  TEXT NOT NULL,
    sku         TEXT NOT NULL,
    name        TEXT NOT NULL,
    unit_price  INTEGER NOT NULL CHECK (unit_price >= 0),
    quantity    INTEGER NOT NULL CHECK (quantity > 0),
    line_total  INTEGER NOT NULL CHECK (line_total = unit_price * quantity),
    FOREIGN KEY (store_id, order_id) REFERENCES orders (store_id, id),
    FOREIGN KEY (store_id, product_id) REFERENCES products (store_id, id)
);
CREATE INDEX order_lines_order ON order_lines (order_id);

-- Order lines are a record of what was sold at what price: never changed once written.
-- +goose StatementBegin
CREATE TRIGGER order_lines_no_update BEFORE UPDATE ON order_lines
BEGIN
    SELECT RAISE(ABORT, 'order_lines are immutable');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER order_lines_no_delete BEFORE DELETE ON order_lines
BEGIN
    SELECT RAISE(ABORT, 'order_lines are immutable');
END;
-- +goose StatementEnd

CREATE TABLE order_history (
    id          TEXT PRIMARY KEY,
    store_id    TEXT NOT NULL,
    order_id    TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status   TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    actor_role  TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    FOREIGN KEY (store_id, order_id) REFERENCES orders (store_id, id)
);
CREATE INDEX order_history_order ON order_history (order_id, created_at);

-- A checkout's Idempotency-Key and the order it made. The request is kept only as a keyed hash.
CREATE TABLE checkout_keys (
    store_id     TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    order_id     TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (store_id, user_id, key)
);

-- +goose Down
DROP TABLE checkout_keys;
DROP TABLE order_history;
DROP TABLE order_lines;
DROP TABLE orders;
DROP TABLE cart_items;
DROP TABLE inventory_ledger;
DROP TABLE products_fts;
DROP INDEX products_store_newest;
DROP INDEX products_store_price;
DROP INDEX products_store_name;
DROP INDEX products_store_id;
