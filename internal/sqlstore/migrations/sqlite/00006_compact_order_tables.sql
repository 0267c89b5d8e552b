-- +goose NO TRANSACTION
-- +goose Up
-- The tables a checkout writes become WITHOUT ROWID tables clustered on the key they are read by:
-- a row is then stored once, in its primary key's B-tree, instead of in a rowid table plus an index
-- for the id plus an index for the lookup. A checkout wrote its rows into 20 B-trees; it now
-- writes them into 9 (orders keeps its customer, status and date indexes). Ids stay unique (they
-- are UUIDs) and every read names its store. SQLite cannot change a table into this form, so each
-- is rebuilt (https://sqlite.org/lang_altertable.html#otheralter): foreign keys off, one
-- transaction, new table, copy, drop, rename, foreign keys checked, commit, foreign keys on.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE new_inventory_ledger (
    id          TEXT NOT NULL,
    store_id    TEXT NOT NULL,
    product_id  TEXT NOT NULL,
    delta       INTEGER NOT NULL CHECK (delta <> 0),
    stock_after INTEGER NOT NULL CHECK (stock_after >= 0),
    reason      TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    order_id    TEXT,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (store_id, product_id, created_at, id),
    FOREIGN KEY (store_id, product_id) REFERENCES products (store_id, id)
) WITHOUT ROWID;
INSERT INTO new_inventory_ledger SELECT id, store_id, product_id, delta, stock_after, reason, actor_id, order_id, created_at
    FROM inventory_ledger;
DROP TABLE inventory_ledger;
ALTER TABLE new_inventory_ledger RENAME TO inventory_ledger;

CREATE TABLE new_cart_items (
    store_id   TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id),
    product_id TEXT NOT NULL,
    quantity   INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (user_id, product_id),
    FOREIGN KEY (store_id, product_id) REFERENCES products (store_id, id)
) WITHOUT ROWID;
INSERT INTO new_cart_items SELECT store_id, user_id, product_id, quantity, updated_at FROM cart_items;
DROP TABLE cart_items;
ALTER TABLE new_cart_items RENAME TO cart_items;

CREATE TABLE new_orders (
    id             TEXT NOT NULL,
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
    PRIMARY KEY (store_id, id)
) WITHOUT ROWID;
INSERT INTO new_orders SELECT id, store_id, customer_id, status, currency, total_amount, refunded_amount, card_brand,
    card_last4, payment_ref, created_at, updated_at FROM orders;
DROP TABLE orders;
ALTER TABLE new_orders RENAME TO orders;
CREATE INDEX orders_store_customer ON orders (store_id, customer_id, id);
CREATE INDEX orders_store_status ON orders (store_id, status, id);
CREATE INDEX orders_store_created ON orders (store_id, created_at);

CREATE TABLE new_order_lines (
    id          TEXT NOT NULL,
    store_id    TEXT NOT NULL,
    order_id    TEXT NOT NULL,
    product_id  TEXT NOT NULL,
    sku         TEXT NOT NULL,
    name        TEXT NOT NULL,
    unit_price  INTEGER NOT NULL CHECK (unit_price >= 0),
    quantity    INTEGER NOT NULL CHECK (quantity > 0),
    line_total  INTEGER NOT NULL CHECK (line_total = unit_price * quantity),
    PRIMARY KEY (store_id, order_id, id),
    FOREIGN KEY (store_id, order_id) REFERENCES orders (store_id, id),
    FOREIGN KEY (store_id, product_id) REFERENCES products (store_id, id)
) WITHOUT ROWID;
INSERT INTO new_order_lines SELECT id, store_id, order_id, product_id, sku, name, unit_price, quantity, line_total
    FROM order_lines;
DROP TABLE order_lines;
ALTER TABLE new_order_lines RENAME TO order_lines;
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

CREATE TABLE new_order_history (
    id          TEXT NOT NULL,
    store_id    TEXT NOT NULL,
    order_id    TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status   TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    actor_role  TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    PRIMARY KEY (store_id, order_id, created_at, id),
    FOREIGN KEY (store_id, order_id) REFERENCES orders (store_id, id)
) WITHOUT ROWID;
INSERT INTO new_order_history SELECT id, store_id, order_id, from_status, to_status, actor_id, actor_role, note, created_at
    FROM order_history;
DROP TABLE order_history;
ALTER TABLE new_order_history RENAME TO order_history;

-- refunds refers to orders by name, and so now to the new table. Nothing may point nowhere:
-- the CHECK fails the migration (and rolls it back) if a reference has lost its row.
CREATE TEMP TABLE fk_violations (n INTEGER CHECK (n = 0));
INSERT INTO fk_violations SELECT COUNT(*) FROM pragma_foreign_key_check;
DROP TABLE fk_violations;
COMMIT;
PRAGMA foreign_keys = ON;

-- +goose Down
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE old_inventory_ledger (
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
INSERT INTO old_inventory_ledger SELECT id, store_id, product_id, delta, stock_after, reason, actor_id, order_id, created_at
    FROM inventory_ledger;
DROP TABLE inventory_ledger;
ALTER TABLE old_inventory_ledger RENAME TO inventory_ledger;
CREATE INDEX inventory_ledger_product ON inventory_ledger (store_id, product_id, created_at);

CREATE TABLE old_cart_items (
    store_id   TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id),
    product_id TEXT NOT NULL,
    quantity   INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (user_id, product_id),
    FOREIGN KEY (store_id, product_id) REFERENCES products (store_id, id)
);
INSERT INTO old_cart_items SELECT store_id, user_id, product_id, quantity, updated_at FROM cart_items;
DROP TABLE cart_items;
ALTER TABLE old_cart_items RENAME TO cart_items;

CREATE TABLE old_orders (
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
INSERT INTO old_orders SELECT id, store_id, customer_id, status, currency, total_amount, refunded_amount, card_brand,
    card_last4, payment_ref, created_at, updated_at FROM orders;
DROP TABLE orders;
ALTER TABLE old_orders RENAME TO orders;
CREATE INDEX orders_store_customer ON orders (store_id, customer_id, id);
CREATE INDEX orders_store_status ON orders (store_id, status, id);
CREATE INDEX orders_store_created ON orders (store_id, created_at);

CREATE TABLE old_order_lines (
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
INSERT INTO old_order_lines SELECT id, store_id, order_id, product_id, sku, name, unit_price, quantity, line_total
    FROM order_lines;
DROP TABLE order_lines;
ALTER TABLE old_order_lines RENAME TO order_lines;
CREATE INDEX order_lines_order ON order_lines (order_id);
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

CREATE TABLE old_order_history (
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
INSERT INTO old_order_history SELECT id, store_id, order_id, from_status, to_status, actor_id, actor_role, note, created_at
    FROM order_history;
DROP TABLE order_history;
ALTER TABLE old_order_history RENAME TO order_history;
CREATE INDEX order_history_order ON order_history (order_id, created_at);

CREATE TEMP TABLE fk_violations (n INTEGER CHECK (n = 0));
INSERT INTO fk_violations SELECT COUNT(*) FROM pragma_foreign_key_check;
DROP TABLE fk_violations;
COMMIT;
PRAGMA foreign_keys = ON;
