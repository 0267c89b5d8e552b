package sqlstore

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// A full disk on PostgreSQL (disk_full, 53100) is the same clear answer as SQLite's SQLITE_FULL.
func TestTranslate_PostgresDiskFullIsStorageFull(t *testing.T) {
	for _, code := range []string{"53100", "53000"} {
		if err := translate(&pgconn.PgError{Code: code}); !errors.Is(err, ErrStorageFull) {
			t.Errorf("SQLSTATE %s: %v", code, err)
		}
	}
	if err := translate(&pgconn.PgError{Code: "23505"}); errors.Is(err, ErrStorageFull) {
		t.Error("a unique violation taken for a full disk")
	}
}
