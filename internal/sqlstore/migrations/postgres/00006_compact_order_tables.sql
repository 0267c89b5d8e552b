-- +goose Up
-- SQLite's tables a checkout writes became WITHOUT ROWID tables in this version; PostgreSQL has
-- no such layout to change to (its tables are heaps with their indexes either way).
SELECT 1;

-- +goose Down
SELECT 1;
