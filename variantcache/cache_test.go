package variantcache

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
)

func TestComputeOnceAndEvict(t *testing.T) {
	dir := t.TempDir()
	c, err := Open(dir, 250)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	key := Key("u1", "resize/10x/")
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := c.Get(context.Background(), key, func(context.Context) ([]byte, string, error) {
				calls.Add(1)
				return bytes.Repeat([]byte("a"), 100), "image/jpeg", nil
			})
			if err != nil || e.Size != 100 || e.ContentType != "image/jpeg" {
				t.Errorf("get: %+v %v", e, err)
			}
		}()
	}
	wg.Wait()
	if calls.Load() != 1 {
		t.Fatalf("computed %d times", calls.Load())
	}
	// Two more variants: the cap (250) evicts the least recently used one.
	k2, k3 := Key("u1", "a/"), Key("u2", "b/")
	c.Get(context.Background(), k2, func(context.Context) ([]byte, string, error) { return make([]byte, 100), "image/png", nil })
	c.Get(context.Background(), key, func(context.Context) ([]byte, string, error) { t.Fatal("recomputed"); return nil, "", nil })
	c.Get(context.Background(), k3, func(context.Context) ([]byte, string, error) { return make([]byte, 100), "image/webp", nil })
	if _, ok := c.lookup(k2); ok {
		t.Fatal("LRU victim still cached")
	}
	if c.Bytes() != 200 {
		t.Fatalf("bytes = %d", c.Bytes())
	}
	if c.Evictions() != 1 {
		t.Fatalf("evictions = %d, want 1", c.Evictions())
	}
	// Reopen: the index is rebuilt from disk.
	c2, _ := Open(dir, 1000)
	if _, ok := c2.lookup(key); !ok {
		t.Fatal("variant lost on reopen")
	}
	if err := c2.Purge("u1"); err != nil {
		t.Fatal(err)
	}
	if _, ok := c2.lookup(key); ok {
		t.Fatal("purged variant served")
	}
	if _, err := os.Stat(dir + "/u1"); !os.IsNotExist(err) {
		t.Fatal("purged directory remains")
	}
	if _, err := c2.Get(context.Background(), "../x", nil); err == nil {
		t.Fatal("bad key accepted")
	}
}

type memShared struct {
	m     map[string][]byte
	saved chan string
}

func (s *memShared) Load(_ context.Context, key string) ([]byte, string, bool, error) {
	b, ok := s.m[key]
	return b, "image/png", ok, nil
}

func (s *memShared) Save(_ context.Context, key string, body []byte, _ string) error {
	s.saved <- key
	return nil
}

func TestSharedLayer(t *testing.T) {
	shared := &memShared{m: map[string][]byte{}, saved: make(chan string, 1)}
	a, _ := Open(t.TempDir(), 1000)
	a.Shared = shared
	key := Key("u9", "x/")
	if _, err := a.Get(context.Background(), key, func(context.Context) ([]byte, string, error) { return []byte("computed"), "image/png", nil }); err != nil {
		t.Fatal(err)
	}
	if got := <-shared.saved; got != key {
		t.Fatalf("saved %q", got)
	}
	// Another node finds it in the shared store instead of computing.
	shared.m[key] = []byte("from-shared")
	b, _ := Open(t.TempDir(), 1000)
	b.Shared = shared
	e, err := b.Get(context.Background(), key, func(context.Context) ([]byte, string, error) { t.Fatal("recomputed"); return nil, "", nil })
	if err != nil || e.Size != int64(len("from-shared")) {
		t.Fatalf("shared load: %+v %v", e, err)
	}
}

// BenchmarkStoreMiss is the variant cache's share of a cold transform: a
// miss whose computation returns a 25 KB variant at once, stored in a
// directory of its own as a new file's first variant is.
func BenchmarkStoreMiss(b *testing.B) {
	c, err := Open(b.TempDir(), 1<<40)
	if err != nil {
		b.Fatal(err)
	}
	body := bytes.Repeat([]byte("v"), 25000)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		key := Key(fmt.Sprintf("u%09d", i), "resize/400x300/")
		if _, err := c.Get(context.Background(), key, func(context.Context) ([]byte, string, error) {
			return body, "image/jpeg", nil
		}); err != nil {
			b.Fatal(err)
		}
	}
}
