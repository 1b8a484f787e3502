// Package variantcache keeps derived images (a file plus normalised
// operations plus negotiated format) on local disk under a size cap with
// least-recently-used eviction. Concurrent requests for the same missing
// variant compute it once.
package variantcache

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Entry is a cached variant on disk (and in memory when Body is set).
type Entry struct {
	Path        string
	Body        []byte
	ContentType string
	Size        int64
	ModTime     time.Time
	// ETag is derived from the key, stable across nodes.
	ETag string
}

// Shared is a store of variants other nodes see too (the blob store).
type Shared interface {
	// Load returns a variant saved by any node; ok is false when there is none.
	Load(ctx context.Context, key string) (body []byte, contentType string, ok bool, err error)
	// Save keeps a variant for other nodes.
	Save(ctx context.Context, key string, body []byte, contentType string) error
}

// Cache is a size-capped LRU of variant files.
type Cache struct {
	dir      string
	maxBytes int64
	// Shared, when set, is asked before computing and told after.
	Shared Shared
	// Live, when set, is asked after a variant is stored whether its file
	// still exists; when not (it was deleted meanwhile, maybe through
	// another node) the file's variants are purged here.
	Live func(ctx context.Context, uuid string) bool

	mu       sync.Mutex
	lru      *list.List // front = most recent; values are *item
	items    map[string]*list.Element
	bytes    int64
	memBytes int64
	// evictions counts variants removed to keep the cache under its cap.
	evictions atomic.Uint64

	sf singleflight.Group

	// tombs holds files purged lately; a variant of one that finishes
	// computing after the purge removes itself instead of being kept.
	// inflight counts running computations per file, so that a tomb
	// outlives every computation that started before it.
	tombs     map[string]time.Time
	inflight  map[string]int
	lastSweep time.Time

	// Saves to Shared run in the background, at most saveSlots at once;
	// Close waits for them.
	saveSlots chan struct{}
	saves     sync.WaitGroup
	closed    bool
}

type item struct {
	key  string // <uuid>/<hash>
	name string // relative path: <uuid>/<hash>.<ext>
	size int64
	// body keeps small variants in memory too, so hot ones are served
	// without file I/O.
	body []byte
}

// In-memory copies: variants up to memItemMax bytes, memMax bytes in all.
const (
	memItemMax = 256 << 10
	memMax     = 64 << 20
)

// MaxSaves is how many variants are saved to Shared at once; a variant
// computed while every slot is busy is not shared (other nodes compute it).
const MaxSaves = 8

// saveTimeout bounds one save to Shared.
const saveTimeout = time.Minute

// tombTTL is how long a purged file's tomb lasts once no computation of it
// is running: a request that looked the file up just before its deletion
// may still start one within it.
const tombTTL = 5 * time.Minute

// ErrPurged is returned by Get when the file was purged while its variant
// was being computed: the variant is not kept.
var ErrPurged = errors.New("variantcache: file purged")

// Open opens (creating) a cache in dir holding at most maxBytes, indexing
// what a previous process left there.
func Open(dir string, maxBytes int64) (*Cache, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("variantcache: %w", err)
	}
	c := &Cache{dir: dir, maxBytes: maxBytes, lru: list.New(), items: map[string]*list.Element{},
		tombs: map[string]time.Time{}, inflight: map[string]int{}, saveSlots: make(chan struct{}, MaxSaves)}
	type found struct {
		name string
		size int64
		at   time.Time
	}
	var all []found
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if strings.HasPrefix(d.Name(), ".") { // interrupted writes
			os.Remove(p)
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		all = append(all, found{filepath.ToSlash(rel), info.Size(), info.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("variantcache: index: %w", err)
	}
	// Oldest first, so the newest end up at the front.
	sort.Slice(all, func(i, j int) bool { return all[i].at.Before(all[j].at) })
	for _, f := range all {
		key := strings.TrimSuffix(f.name, path.Ext(f.name))
		c.items[key] = c.lru.PushFront(&item{key: key, name: f.name, size: f.size})
		c.bytes += f.size
	}
	c.evict()
	return c, nil
}

// Key names a variant of a file by its normalised operations and whatever
// else selects the output (the negotiated format class).
func Key(uuid, variant string) string {
	h := sha256.Sum256([]byte(variant))
	return uuid + "/" + hex.EncodeToString(h[:12])
}

func extOf(contentType string) string {
	switch contentType {
	case "application/json":
		return "json"
	case "image/jpeg":
		return "jpg"
	case "image/avif":
		return "avif"
	case "image/webp":
		return "webp"
	case "image/png":
		return "png"
	case "image/gif":
		return "gif"
	case "video/mp4":
		return "mp4"
	case "video/webm":
		return "webm"
	}
	if exts, _ := mime.ExtensionsByType(contentType); len(exts) > 0 {
		return strings.TrimPrefix(exts[0], ".")
	}
	return "bin"
}

func contentTypeOf(name string) string {
	switch filepath.Ext(name) {
	case ".jpg":
		return "image/jpeg"
	case ".png":
		return "image/png"
	case ".webp":
		return "image/webp"
	case ".avif":
		return "image/avif"
	case ".gif":
		return "image/gif"
	case ".json":
		return "application/json"
	case ".mp4":
		return "video/mp4"
	case ".webm":
		return "video/webm"
	}
	if t := mime.TypeByExtension(filepath.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func validKey(key string) bool {
	return key != "" && !strings.Contains(key, ".") && !strings.HasPrefix(key, "/") && strings.Count(key, "/") == 1
}

// Get returns the variant, computing it with compute when missing. compute
// returns the bytes and their content type; it runs once however many
// callers wait for the key. A variant of a file purged meanwhile is not
// kept: Get then fails with ErrPurged.
func (c *Cache) Get(ctx context.Context, key string, compute func(ctx context.Context) ([]byte, string, error)) (*Entry, error) {
	if !validKey(key) {
		return nil, fmt.Errorf("variantcache: bad key %q", key)
	}
	if e, ok := c.lookup(key); ok {
		return e, nil
	}
	uuid, _, _ := strings.Cut(key, "/")
	v, err, _ := c.sf.Do(key, func() (any, error) {
		if e, ok := c.lookup(key); ok {
			return e, nil
		}
		if !c.begin(uuid) {
			return nil, ErrPurged
		}
		defer c.end(uuid)
		ctx := context.WithoutCancel(ctx)
		if c.Shared != nil {
			if body, ctype, ok, err := c.Shared.Load(ctx, key); err == nil && ok {
				return c.keep(ctx, key, uuid, ctype, body)
			}
		}
		body, ctype, err := compute(ctx)
		if err != nil {
			return nil, err
		}
		e, err := c.keep(ctx, key, uuid, ctype, body)
		if err == nil && c.Shared != nil {
			c.save(key, uuid, body, ctype)
		}
		return e, err
	})
	if err != nil {
		return nil, err
	}
	return v.(*Entry), nil
}

// keep stores a variant, then makes sure its file was not deleted
// meanwhile by another node.
func (c *Cache) keep(ctx context.Context, key, uuid, ctype string, body []byte) (*Entry, error) {
	e, err := c.put(key, ctype, body)
	if err == nil && c.Live != nil && !c.Live(ctx, uuid) {
		c.Purge(uuid)
		return nil, ErrPurged
	}
	return e, err
}

// begin notes a computation of a variant of uuid; it reports false when
// the file was purged.
func (c *Cache) begin(uuid string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dead := c.tombs[uuid]; dead {
		return false
	}
	c.inflight[uuid]++
	return true
}

func (c *Cache) end(uuid string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inflight[uuid]--; c.inflight[uuid] <= 0 {
		delete(c.inflight, uuid)
	}
}

func (c *Cache) purged(uuid string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, dead := c.tombs[uuid]
	return dead
}

// save hands a variant to Shared in the background when a slot is free.
func (c *Cache) save(key, uuid string, body []byte, ctype string) {
	c.mu.Lock()
	if _, dead := c.tombs[uuid]; dead || c.closed {
		c.mu.Unlock()
		return
	}
	select {
	case c.saveSlots <- struct{}{}:
	default:
		c.mu.Unlock()
		return // best effort: a miss elsewhere recomputes
	}
	c.saves.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.saves.Done()
		defer func() { <-c.saveSlots }()
		ctx, cancel := context.WithTimeout(context.Background(), saveTimeout)
		defer cancel()
		c.Shared.Save(ctx, key, body, ctype) // best effort, as above
	}()
}

// Close waits for the saves to Shared under way and starts no more.
func (c *Cache) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.saves.Wait()
	return nil
}

func (c *Cache) lookup(key string) (*Entry, bool) {
	c.mu.Lock()
	el, ok := c.items[key]
	var it item
	if ok {
		c.lru.MoveToFront(el)
		it = *el.Value.(*item)
	}
	c.mu.Unlock()
	if !ok {
		return nil, false
	}
	// The index knows the size; a variant removed behind the cache's back
	// shows up when the caller opens it (and is recomputed next time).
	return &Entry{Path: filepath.Join(c.dir, filepath.FromSlash(it.name)), Body: it.body, ContentType: contentTypeOf(it.name),
		Size: it.size, ETag: etag(key)}, true
}

// Forget drops a variant whose file went missing.
func (c *Cache) Forget(key string) { c.forget(key) }

func etag(key string) string { return `"v-` + path.Base(key) + `"` }

// put stores a computed variant. Cache files need no fsync: a lost variant
// is recomputed. A variant of a file purged meanwhile removes itself.
func (c *Cache) put(key, ctype string, body []byte) (*Entry, error) {
	uuid, _, _ := strings.Cut(key, "/")
	name := key + "." + extOf(ctype)
	p := filepath.Join(c.dir, filepath.FromSlash(name))
	fail := func(err error) (*Entry, error) {
		if c.purged(uuid) {
			return nil, ErrPurged
		}
		return nil, fmt.Errorf("variantcache: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return fail(err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return fail(err)
	}
	if _, err := tmp.Write(body); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fail(err)
	}
	tmp.Close()
	if err := os.Rename(tmp.Name(), p); err != nil {
		os.Remove(tmp.Name())
		return fail(err)
	}
	c.mu.Lock()
	if _, dead := c.tombs[uuid]; dead {
		// Purged while computing: whether the purge removed the directory
		// before or after the rename, nothing of the file stays.
		c.mu.Unlock()
		os.Remove(p)
		os.Remove(filepath.Dir(p)) // only when empty
		return nil, ErrPurged
	}
	if el, ok := c.items[key]; ok {
		c.drop(el)
	}
	it := &item{key: key, name: name, size: int64(len(body))}
	if len(body) <= memItemMax && c.memBytes+int64(len(body)) <= memMax {
		it.body = body
		c.memBytes += int64(len(body))
	}
	c.items[key] = c.lru.PushFront(it)
	c.bytes += int64(len(body))
	c.mu.Unlock()
	c.evict()
	return &Entry{Path: p, Body: it.body, ContentType: contentTypeOf(name), Size: int64(len(body)), ModTime: time.Now(), ETag: etag(key)}, nil
}

func (c *Cache) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.drop(el)
	}
}

// drop removes an entry from the index (the caller holds c.mu).
func (c *Cache) drop(el *list.Element) {
	it := el.Value.(*item)
	c.bytes -= it.size
	c.memBytes -= int64(len(it.body))
	c.lru.Remove(el)
	delete(c.items, it.key)
}

// evict removes least recently used variants until the cache fits.
func (c *Cache) evict() {
	for {
		c.mu.Lock()
		if c.bytes <= c.maxBytes || c.lru.Len() == 0 {
			c.mu.Unlock()
			return
		}
		el := c.lru.Back()
		it := el.Value.(*item)
		c.drop(el)
		c.mu.Unlock()
		c.evictions.Add(1)
		os.Remove(filepath.Join(c.dir, filepath.FromSlash(it.name)))
	}
}

// Purge removes every variant of a file, for good: variants of it still
// being computed are not kept either.
func (c *Cache) Purge(uuid string) error {
	if uuid == "" || strings.ContainsAny(uuid, "/.") {
		return errors.New("variantcache: bad uuid")
	}
	now := time.Now()
	c.mu.Lock()
	c.tombs[uuid] = now
	if now.Sub(c.lastSweep) > tombTTL {
		c.lastSweep = now
		for u, at := range c.tombs {
			if now.Sub(at) > tombTTL && c.inflight[u] == 0 {
				delete(c.tombs, u)
			}
		}
	}
	for key, el := range c.items {
		if strings.HasPrefix(key, uuid+"/") {
			c.drop(el)
		}
	}
	c.mu.Unlock()
	return os.RemoveAll(filepath.Join(c.dir, uuid))
}

// Evictions is how many variants this Cache removed to stay under its size
// cap (purges of deleted files are not counted).
func (c *Cache) Evictions() uint64 { return c.evictions.Load() }

// Bytes is the size of the cached variants.
func (c *Cache) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}
