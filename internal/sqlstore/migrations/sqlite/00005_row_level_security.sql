-- +goose Up
-- Row-level security exists in PostgreSQL only; SQLite runs one shop on one machine.
SELECT 1;

-- +goose Down
SELECT 1;
