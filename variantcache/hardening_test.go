package variantcache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestOpenManyEntriesKeepsLRUOrder indexes a large cache left on disk and
// checks that eviction goes oldest first.
func TestOpenManyEntriesKeepsLRUOrder(t *testing.T) {
	const n = 20000
	dir := t.TempDir()
	base := time.Now().Add(-24 * time.Hour)
	names := make([]string, n) // names[i] has the i-th oldest mtime
	for i := 0; i < 500; i++ {
		if err := os.MkdirAll(filepath.Join(dir, fmt.Sprintf("u%03d", i)), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		// Files are written in an order unrelated to their age.
		j := (i * 7919) % n
		uuid := fmt.Sprintf("u%03d", j%500)
		name := filepath.Join(uuid, fmt.Sprintf("h%06d.png", j))
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte{1}, 0o640); err != nil {
			t.Fatal(err)
		}
		at := base.Add(time.Duration(j) * time.Second)
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
		names[j] = name
	}
	// Room for all but the 10 oldest.
	c, err := Open(dir, n-10)
	if err != nil {
		t.Fatal(err)
	}
	if c.Bytes() != n-10 {
		t.Fatalf("bytes = %d, want %d", c.Bytes(), n-10)
	}
	gone := func(i int) bool {
		_, err := os.Stat(filepath.Join(dir, names[i]))
		return os.IsNotExist(err)
	}
	for i := 0; i < 12; i++ {
		if want := i < 10; gone(i) != want {
			t.Fatalf("entry %d (age rank) evicted = %v, want %v", i, gone(i), want)
		}
	}
	// Using an old entry makes it the most recent: the next eviction skips it.
	if _, ok := c.lookup(names[10][:len(names[10])-len(".png")]); !ok {
		t.Fatal("entry 10 not indexed")
	}
	if _, err := c.Get(context.Background(), Key("new", "x/"), func(context.Context) ([]byte, string, error) {
		return []byte{1, 2, 3}, "image/png", nil
	}); err != nil {
		t.Fatal(err)
	}
	for i, want := range map[int]bool{10: false, 11: true, 12: true, 13: true, 14: false} {
		if gone(i) != want {
			t.Fatalf("after a new variant: entry %d evicted = %v, want %v", i, gone(i), want)
		}
	}
}

// blockingShared saves into a map once released, counting how many saves
// run at once.
type blockingShared struct {
	release chan struct{}
	mu      sync.Mutex
	saved   map[string]bool
	running atomic.Int32
	most    atomic.Int32
	started atomic.Int32
}

func (s *blockingShared) Load(context.Context, string) ([]byte, string, bool, error) {
	return nil, "", false, nil
}

func (s *blockingShared) Save(_ context.Context, key string, _ []byte, _ string) error {
	s.started.Add(1)
	n := s.running.Add(1)
	defer s.running.Add(-1)
	for {
		m := s.most.Load()
		if n <= m || s.most.CompareAndSwap(m, n) {
			break
		}
	}
	<-s.release
	s.mu.Lock()
	s.saved[key] = true
	s.mu.Unlock()
	return nil
}

// TestSavesBoundedAndAwaitedByClose checks that background saves to the
// shared store are bounded and that Close returns only after those under
// way have finished.
func TestSavesBoundedAndAwaitedByClose(t *testing.T) {
	shared := &blockingShared{release: make(chan struct{}), saved: map[string]bool{}}
	c, err := Open(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	c.Shared = shared
	for i := 0; i < 3*MaxSaves; i++ {
		if _, err := c.Get(context.Background(), Key("u", fmt.Sprint(i)), func(context.Context) ([]byte, string, error) {
			return []byte("v"), "image/png", nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	closed := make(chan struct{})
	go func() {
		c.Close()
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("Close returned while saves were under way")
	case <-time.After(100 * time.Millisecond):
	}
	close(shared.release)
	<-closed
	started := int(shared.started.Load())
	if started == 0 || started > 3*MaxSaves {
		t.Fatalf("%d saves started", started)
	}
	if most := shared.most.Load(); most > MaxSaves {
		t.Fatalf("%d saves ran at once, want at most %d", most, MaxSaves)
	}
	if shared.running.Load() != 0 {
		t.Fatal("a save still runs after Close")
	}
	shared.mu.Lock()
	if len(shared.saved) != started {
		t.Fatalf("%d saves finished of %d started", len(shared.saved), started)
	}
	shared.mu.Unlock()
	// After Close no save starts.
	c.Get(context.Background(), Key("u", "late"), func(context.Context) ([]byte, string, error) { return []byte("v"), "image/png", nil })
	if int(shared.started.Load()) != started {
		t.Fatal("a save started after Close")
	}
}

// TestPurgeDuringCompute deletes a file while one of its variants is being
// computed: the variant must not be kept anywhere.
func TestPurgeDuringCompute(t *testing.T) {
	dir := t.TempDir()
	shared := &blockingShared{release: make(chan struct{}), saved: map[string]bool{}}
	close(shared.release)
	c, err := Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	c.Shared = shared
	key := Key("u1", "resize/10x/")
	started, finish := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := c.Get(context.Background(), key, func(context.Context) ([]byte, string, error) {
			close(started)
			<-finish
			return []byte("variant"), "image/png", nil
		})
		done <- err
	}()
	<-started
	if err := c.Purge("u1"); err != nil {
		t.Fatal(err)
	}
	close(finish)
	if err := <-done; !errors.Is(err, ErrPurged) {
		t.Fatalf("get = %v, want ErrPurged", err)
	}
	c.Close()
	if _, err := os.Stat(filepath.Join(dir, "u1")); !os.IsNotExist(err) {
		entries, _ := os.ReadDir(filepath.Join(dir, "u1"))
		t.Fatalf("variants of the purged file remain: %v", entries)
	}
	if _, ok := c.lookup(key); ok {
		t.Fatal("purged variant indexed")
	}
	if shared.started.Load() != 0 {
		t.Fatal("purged variant saved to the shared store")
	}
	// A request that looked the file up before its deletion computes nothing.
	if _, err := c.Get(context.Background(), Key("u1", "other/"), func(context.Context) ([]byte, string, error) {
		t.Fatal("computed a variant of a purged file")
		return nil, "", nil
	}); !errors.Is(err, ErrPurged) {
		t.Fatalf("get after purge = %v", err)
	}
}
