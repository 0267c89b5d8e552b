-- +goose Up
-- Physical goods. A store's shipping and tax set-up (zones of countries, their methods and tax
-- rates, whether prices include tax) is one document, replaced whole. Products have a weight and a
-- tax class. An order keeps, immutable: its readable number (gap-free per store, from
-- store_counters), the customer's e-mail, the shipping and billing addresses, the shipping method
-- with its price, and its figures — subtotal and shipping without tax, the tax, and the total,
-- which is their sum — and each line its tax class, rate and tax, the shipping its own: the tax per
-- rate is the sum over them.
-- Invoices and credit notes are numbered per store without gaps. Customers keep an address book.
ALTER TABLE stores ADD COLUMN shipping TEXT NOT NULL DEFAULT '{"prices_include_tax":false,"shipping_tax_class":"standard","zones":[]}';
ALTER TABLE stores ADD COLUMN guest_checkout INTEGER NOT NULL DEFAULT 1;
ALTER TABLE products ADD COLUMN weight_grams INTEGER NOT NULL DEFAULT 0 CHECK (weight_grams BETWEEN 0 AND 1000000);
ALTER TABLE products ADD COLUMN tax_class TEXT NOT NULL DEFAULT 'standard' CHECK (tax_class IN ('standard', 'reduced', 'zero'));

CREATE TABLE store_counters (
    store_id TEXT NOT NULL REFERENCES stores (id),
    name     TEXT NOT NULL CHECK (name IN ('order', 'invoice', 'credit_note')),
    value    INTEGER NOT NULL,
    PRIMARY KEY (store_id, name)
) WITHOUT ROWID;

ALTER TABLE orders ADD COLUMN number INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN email TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN shipping_address TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN billing_address TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN shipping_method TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN shipping_price INTEGER NOT NULL DEFAULT 0 CHECK (shipping_price >= 0);
ALTER TABLE orders ADD COLUMN prices_include_tax INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN subtotal_amount INTEGER NOT NULL DEFAULT 0 CHECK (subtotal_amount >= 0);
ALTER TABLE orders ADD COLUMN shipping_amount INTEGER NOT NULL DEFAULT 0 CHECK (shipping_amount >= 0);
ALTER TABLE orders ADD COLUMN tax_amount INTEGER NOT NULL DEFAULT 0 CHECK (tax_amount >= 0);
ALTER TABLE orders ADD COLUMN tax_name TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN shipping_tax INTEGER NOT NULL DEFAULT 0 CHECK (shipping_tax >= 0);
ALTER TABLE orders ADD COLUMN shipping_tax_rate INTEGER NOT NULL DEFAULT 0 CHECK (shipping_tax_rate BETWEEN 0 AND 100000);
ALTER TABLE orders ADD COLUMN shipping_tax_class TEXT NOT NULL DEFAULT 'standard';
ALTER TABLE orders ADD COLUMN carrier TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN tracking_number TEXT NOT NULL DEFAULT '';
-- The orders placed before: numbered in the order they were placed, their total all subtotal.
UPDATE orders SET subtotal_amount = total_amount,
    number = 1000 + (SELECT COUNT(*) FROM orders o2 WHERE o2.store_id = orders.store_id AND o2.id <= orders.id);
INSERT INTO store_counters (store_id, name, value) SELECT store_id, 'order', MAX(number) FROM orders GROUP BY store_id;
CREATE UNIQUE INDEX orders_number ON orders (store_id, number);
-- +goose StatementBegin
CREATE TRIGGER orders_figures_add_up BEFORE INSERT ON orders
WHEN NEW.total_amount <> NEW.subtotal_amount + NEW.shipping_amount + NEW.tax_amount OR NEW.number < 1
BEGIN
    SELECT RAISE(ABORT, 'an order''s total is its subtotal, shipping and tax, and it has a number');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER orders_figures_immutable BEFORE UPDATE OF number, email, shipping_address, billing_address, shipping_method,
    shipping_price, prices_include_tax, subtotal_amount, shipping_amount, tax_amount, tax_name, shipping_tax, shipping_tax_rate,
    shipping_tax_class, total_amount, currency ON orders
BEGIN
    SELECT RAISE(ABORT, 'an order''s figures and addresses are immutable');
END;
-- +goose StatementEnd

ALTER TABLE order_lines ADD COLUMN tax_class TEXT NOT NULL DEFAULT 'standard';
ALTER TABLE order_lines ADD COLUMN tax_rate INTEGER NOT NULL DEFAULT 0 CHECK (tax_rate BETWEEN 0 AND 100000);
ALTER TABLE order_lines ADD COLUMN tax_amount INTEGER NOT NULL DEFAULT 0 CHECK (tax_amount >= 0 AND tax_amount <= line_total);


-- An invoice for each paid order, a credit note for each refund: numbered per store and kind
-- without gaps, with the tax per rate each documents in invoice_taxes.
CREATE TABLE invoices (
    id         TEXT PRIMARY KEY,
    store_id   TEXT NOT NULL REFERENCES stores (id),
    kind       TEXT NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
    number     INTEGER NOT NULL CHECK (number > 0),
    order_id   TEXT NOT NULL,
    payment_id TEXT NOT NULL,
    amount     INTEGER NOT NULL CHECK (amount >= 0),
    tax_amount INTEGER NOT NULL CHECK (tax_amount >= 0 AND tax_amount <= amount),
    issued_at  TEXT NOT NULL,
    UNIQUE (store_id, kind, number),
    UNIQUE (store_id, kind, payment_id),
    FOREIGN KEY (store_id, order_id) REFERENCES orders (store_id, id)
);
CREATE INDEX invoices_order ON invoices (store_id, order_id);
CREATE INDEX invoices_issued ON invoices (store_id, issued_at);
CREATE TABLE invoice_taxes (
    store_id   TEXT NOT NULL,
    invoice_id TEXT NOT NULL REFERENCES invoices (id),
    class      TEXT NOT NULL CHECK (class IN ('standard', 'reduced', 'zero')),
    rate       INTEGER NOT NULL CHECK (rate BETWEEN 0 AND 100000),
    name       TEXT NOT NULL,
    base       INTEGER NOT NULL CHECK (base >= 0),
    amount     INTEGER NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (invoice_id, class, rate)
) WITHOUT ROWID;
-- +goose StatementBegin
CREATE TRIGGER invoice_taxes_immutable BEFORE UPDATE ON invoice_taxes
BEGIN
    SELECT RAISE(ABORT, 'invoice_taxes are immutable');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER invoice_taxes_no_delete BEFORE DELETE ON invoice_taxes
BEGIN
    SELECT RAISE(ABORT, 'invoice_taxes are immutable');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER invoices_immutable BEFORE UPDATE ON invoices
BEGIN
    SELECT RAISE(ABORT, 'invoices are immutable');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER invoices_no_delete BEFORE DELETE ON invoices
BEGIN
    SELECT RAISE(ABORT, 'invoices are immutable');
END;
-- +goose StatementEnd

CREATE TABLE addresses (
    id         TEXT PRIMARY KEY,
    store_id   TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id),
    name       TEXT NOT NULL,
    line1      TEXT NOT NULL,
    line2      TEXT NOT NULL DEFAULT '',
    city       TEXT NOT NULL,
    region     TEXT NOT NULL DEFAULT '',
    postcode   TEXT NOT NULL DEFAULT '',
    country    TEXT NOT NULL CHECK (length(country) = 2),
    phone      TEXT NOT NULL DEFAULT '',
    is_default INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX addresses_user ON addresses (store_id, user_id, created_at);

-- A guest's checkout: a customer row of its own (no password, never signed in to), found again by
-- a keyed hash of the visitor's cart cookie. The guest follows the order through a link whose
-- token only the shop can make (a keyed hash of the link's id); only a hash of it is kept.
ALTER TABLE users ADD COLUMN guest INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN guest_key TEXT;
CREATE UNIQUE INDEX users_guest_key ON users (store_id, guest_key) WHERE guest_key IS NOT NULL;
CREATE TABLE order_links (
    id         TEXT PRIMARY KEY,
    store_id   TEXT NOT NULL,
    order_id   TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    FOREIGN KEY (store_id, order_id) REFERENCES orders (store_id, id)
);
CREATE INDEX order_links_order ON order_links (store_id, order_id);

-- +goose Down
DROP TABLE order_links;
DROP INDEX users_guest_key;
ALTER TABLE users DROP COLUMN guest_key;
ALTER TABLE users DROP COLUMN guest;
DROP TABLE addresses;
DROP TABLE invoice_taxes;
DROP TABLE invoices;
ALTER TABLE order_lines DROP COLUMN tax_amount;
ALTER TABLE order_lines DROP COLUMN tax_rate;
ALTER TABLE order_lines DROP COLUMN tax_class;
DROP TRIGGER orders_figures_immutable;
DROP TRIGGER orders_figures_add_up;
DROP INDEX orders_number;
ALTER TABLE orders DROP COLUMN tracking_number;
ALTER TABLE orders DROP COLUMN carrier;
ALTER TABLE orders DROP COLUMN shipping_tax_class;
ALTER TABLE orders DROP COLUMN shipping_tax_rate;
ALTER TABLE orders DROP COLUMN shipping_tax;
ALTER TABLE orders DROP COLUMN tax_name;
ALTER TABLE orders DROP COLUMN tax_amount;
ALTER TABLE orders DROP COLUMN shipping_amount;
ALTER TABLE orders DROP COLUMN subtotal_amount;
ALTER TABLE orders DROP COLUMN prices_include_tax;
ALTER TABLE orders DROP COLUMN shipping_price;
ALTER TABLE orders DROP COLUMN shipping_method;
ALTER TABLE orders DROP COLUMN billing_address;
ALTER TABLE orders DROP COLUMN shipping_address;
ALTER TABLE orders DROP COLUMN email;
ALTER TABLE orders DROP COLUMN number;
DROP TABLE store_counters;
ALTER TABLE products DROP COLUMN tax_class;
ALTER TABLE products DROP COLUMN weight_grams;
ALTER TABLE stores DROP COLUMN guest_checkout;
ALTER TABLE stores DROP COLUMN shipping;
