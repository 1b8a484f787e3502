package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/satchel-project/satchel/internal/testenv"
)

// Nodes starting together on one new database all come up, one migrating
// while the others poll the lock (see migrationLock). The deadline only ends
// a test that would otherwise hang.
func TestConcurrentOpenPostgres(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			db, err := OpenPostgres(ctx, dsn)
			if err == nil {
				db.Close()
			}
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
