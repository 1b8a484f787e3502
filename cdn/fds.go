package cdn

import (
	"container/list"
	"io"
	"os"
	"sync"
)

// fdCache keeps open the local files of originals too large for the hot
// cache, so that serving one again costs a seek instead of an open, a stat
// and a close. A descriptor is lent to one request at a time (sendfile(2)
// moves the file's own offset), and returned to the cache after the answer.
// At most max descriptors wait in the cache, over all files; the least
// recently used files give theirs up first. A file's descriptors are closed
// when the file is purged (deleted here) or found removed or missing
// (deleted through another node, seen within the metadata cache's TTL):
// they are never used for a file the metadata cache does not show live.
type fdCache struct {
	mu    sync.Mutex
	max   int
	idle  int // descriptors waiting in the cache
	files map[string]*fdFile
	lru   list.List // of *fdFile, most recently used first
}

// fdFile is one original's open descriptors.
type fdFile struct {
	uuid, blobKey string
	size          int64
	free          []*os.File
	elem          *list.Element
	gone          bool // purged: lent descriptors are closed on return
}

// keptFile is a descriptor lent to one request, at offset 0.
type keptFile struct {
	*os.File
	size  int64
	owner *fdFile // nil: not kept (opened while the cache is off)
}

// maxFreePerFile bounds the descriptors one file keeps: enough for the
// requests of a hot file that overlap on a small server.
const maxFreePerFile = 8

func newFDCache(max int) *fdCache {
	c := &fdCache{max: max, files: map[string]*fdFile{}}
	c.lru.Init()
	return c
}

// take lends a descriptor of blobKey (the original of uuid), opening one
// at path when none waits.
func (c *fdCache) take(uuid, blobKey, path string) (*keptFile, error) {
	if f := c.takeFree(uuid, blobKey); f != nil {
		return f, nil
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	return &keptFile{File: fh, size: st.Size(), owner: c.owner(uuid, blobKey, st.Size())}, nil
}

// takeFree lends a waiting descriptor, rewound, or returns nil.
func (c *fdCache) takeFree(uuid, blobKey string) *keptFile {
	c.mu.Lock()
	e := c.files[uuid]
	if e == nil || e.blobKey != blobKey || len(e.free) == 0 {
		c.mu.Unlock()
		return nil
	}
	fh := e.free[len(e.free)-1]
	e.free = e.free[:len(e.free)-1]
	c.idle--
	c.lru.MoveToFront(e.elem)
	c.mu.Unlock()
	if _, err := fh.Seek(0, io.SeekStart); err != nil {
		fh.Close()
		return nil
	}
	return &keptFile{File: fh, size: e.size, owner: e}
}

// owner returns the entry a newly opened descriptor goes back to, making
// it when missing; nil when the cache keeps nothing.
func (c *fdCache) owner(uuid, blobKey string, size int64) *fdFile {
	if c.max <= 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.files[uuid]
	if e != nil && e.blobKey == blobKey && e.size == size {
		return e
	}
	if e != nil {
		closeAll(c.dropLocked(e))
	}
	e = &fdFile{uuid: uuid, blobKey: blobKey, size: size}
	e.elem = c.lru.PushFront(e)
	c.files[uuid] = e
	return e
}

// give returns a lent descriptor: it waits for the next request unless its
// file was purged meanwhile or the cache has no room for it.
func (c *fdCache) give(f *keptFile) {
	e := f.owner
	if e == nil {
		f.Close()
		return
	}
	c.mu.Lock()
	if e.gone || len(e.free) >= maxFreePerFile {
		c.mu.Unlock()
		f.Close()
		return
	}
	e.free = append(e.free, f.File)
	c.idle++
	c.lru.MoveToFront(e.elem)
	var closing []*os.File
	for c.idle > c.max {
		// The least recently used file gives up its descriptors.
		closing = append(closing, c.dropLocked(c.lru.Back().Value.(*fdFile))...)
	}
	c.mu.Unlock()
	closeAll(closing)
}

// dropLocked forgets e and returns its waiting descriptors for the caller
// to close; lent ones are closed when they come back.
func (c *fdCache) dropLocked(e *fdFile) []*os.File {
	e.gone = true
	c.idle -= len(e.free)
	c.lru.Remove(e.elem)
	delete(c.files, e.uuid)
	free := e.free
	e.free = nil
	return free
}

func closeAll(files []*os.File) {
	for _, fh := range files {
		fh.Close()
	}
}

// purge closes the descriptors of uuid's original.
func (c *fdCache) purge(uuid string) {
	c.mu.Lock()
	var free []*os.File
	if e := c.files[uuid]; e != nil {
		free = c.dropLocked(e)
	}
	c.mu.Unlock()
	closeAll(free)
}

// len reports the files with an entry and the descriptors waiting.
func (c *fdCache) len() (files, idle int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.files), c.idle
}

// OpenFilesLen reports how many originals the open-file cache knows and
// how many descriptors wait in it, for monitoring.
func (h *Handler) OpenFilesLen() (files, idle int) {
	h.caches()
	return h.fds.len()
}
