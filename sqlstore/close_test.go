package sqlstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/internal/testenv"
	"github.com/satchel-project/satchel/sqlstore"
)

// Close while group commits are in flight: the commits queued before it are
// committed, later ones fail with ErrClosed, none panics.
func TestCloseDuringCommits(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		testCloseDuringCommits(t, func() (*sqlstore.DB, error) {
			return sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "s.db"))
		})
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := testenv.PostgresDSN(t)
		testCloseDuringCommits(t, func() (*sqlstore.DB, error) {
			return sqlstore.OpenPostgres(context.Background(), dsn)
		})
	})
}

func testCloseDuringCommits(t *testing.T, open func() (*sqlstore.DB, error)) {
	ctx := context.Background()
	db, err := open()
	if err != nil {
		t.Fatal(err)
	}
	p := &satchel.Project{Name: "close", PublicKey: uuid.NewString(), SecretKey: uuid.NewString()}
	if err := db.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	const writers = 8
	var (
		wg                sync.WaitGroup
		mu                sync.Mutex
		committed, closed int
		others            []error
	)
	start := make(chan struct{})
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range 200 {
				f := &satchel.File{UUID: uuid.NewString(), ProjectID: p.ID, Size: 1, MimeType: "text/plain",
					OriginalFilename: "a.txt", Filename: "a.txt", Checksum: "sha256:00", IsReady: true, Uploaded: time.Now().UTC()}
				f.BlobKey = f.UUID
				err := db.CreateFiles(ctx, []*satchel.File{f}, nil)
				mu.Lock()
				switch {
				case err == nil:
					committed++
				case errors.Is(err, sqlstore.ErrClosed):
					closed++
				default:
					// A commit already queued may meet the closing pool.
					others = append(others, err)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	close(start)
	// Let some commits through, then close while the others are in flight.
	for {
		mu.Lock()
		n := committed
		mu.Unlock()
		if n >= writers {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := db.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	wg.Wait()
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	f := &satchel.File{UUID: uuid.NewString(), ProjectID: p.ID, Uploaded: time.Now().UTC()}
	if err := db.CreateFiles(ctx, []*satchel.File{f}, nil); !errors.Is(err, sqlstore.ErrClosed) {
		t.Errorf("CreateFiles after Close = %v, want ErrClosed", err)
	}
	t.Logf("%d committed, %d refused as closed, other errors: %v", committed, closed, others)
	if len(others) > 0 {
		t.Errorf("commits failed with errors other than ErrClosed: %v", others)
	}
}
