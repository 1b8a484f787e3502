package cdn

import "sync"

// lru is a bounded least-recently-used map whose entries may expire. It
// runs no goroutine: an expired entry is dropped when it is next looked up,
// or pushed out by newer ones like any other. Entries have a cost (1 for a
// count bound, their size for a byte bound); the total stays at most max.
type lru[K comparable, V any] struct {
	mu    sync.Mutex
	max   int64
	cost  int64
	items map[K]*lruEntry[K, V]
	// root is the sentinel of the recency list: root.next is the most
	// recently used entry, root.prev the least.
	root lruEntry[K, V]
}

type lruEntry[K comparable, V any] struct {
	key        K
	val        V
	cost       int64
	expires    int64 // Unix ns; 0: never
	prev, next *lruEntry[K, V]
}

func newLRU[K comparable, V any](max int64) *lru[K, V] {
	c := &lru[K, V]{max: max, items: map[K]*lruEntry[K, V]{}}
	c.root.prev, c.root.next = &c.root, &c.root
	return c
}

func (c *lru[K, V]) unlink(e *lruEntry[K, V]) {
	e.prev.next, e.next.prev = e.next, e.prev
}

func (c *lru[K, V]) pushFront(e *lruEntry[K, V]) {
	e.prev, e.next = &c.root, c.root.next
	e.prev.next, e.next.prev = e, e
}

// remove drops e (the caller holds mu).
func (c *lru[K, V]) remove(e *lruEntry[K, V]) {
	c.unlink(e)
	delete(c.items, e.key)
	c.cost -= e.cost
}

// get returns the value of key unless it is missing or expired at now
// (Unix ns).
func (c *lru[K, V]) get(key K, now int64) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		var zero V
		return zero, false
	}
	if e.expires != 0 && now >= e.expires {
		c.remove(e)
		var zero V
		return zero, false
	}
	if c.root.next != e {
		c.unlink(e)
		c.pushFront(e)
	}
	return e.val, true
}

// add keeps val under key (replacing what was there), then drops the least
// recently used entries until the total cost fits. An entry costing more
// than the whole bound is not kept.
func (c *lru[K, V]) add(key K, val V, cost, expires int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.items[key]; ok {
		c.remove(old)
	}
	if cost > c.max {
		return
	}
	e := &lruEntry[K, V]{key: key, val: val, cost: cost, expires: expires}
	c.items[key] = e
	c.pushFront(e)
	c.cost += cost
	for c.cost > c.max {
		c.remove(c.root.prev)
	}
}

// delete forgets key.
func (c *lru[K, V]) delete(key K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.remove(e)
	}
}

// deleteFunc forgets every entry for which drop reports true.
func (c *lru[K, V]) deleteFunc(drop func(K, V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.items {
		if drop(k, e.val) {
			c.remove(e)
		}
	}
}

// len is the number of entries (expired ones included until looked up).
func (c *lru[K, V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

// total is the sum of the entries' costs.
func (c *lru[K, V]) total() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cost
}
