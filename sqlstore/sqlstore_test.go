package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/internal/testenv"
	"github.com/satchel-project/satchel/sqlstore"
	"github.com/satchel-project/satchel/storetest"
)

func TestSQLiteConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) satchel.Store {
		db, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "s.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

func TestPostgresConformance(t *testing.T) {
	testenv.PostgresDSN(t) // skip early when unset
	storetest.Run(t, func(t *testing.T) satchel.Store {
		db, err := sqlstore.OpenPostgres(context.Background(), testenv.PostgresDSN(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}
