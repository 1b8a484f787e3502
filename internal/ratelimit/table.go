// Package ratelimit keeps the state of per-client limits (per address, per
// project and address) in bounded memory: a table of entries by key that
// forgets the entries left idle and, when full, the least recently used.
package ratelimit

import (
	"container/list"
	"sync"
	"time"
)

// Table holds a limit's state by key: at most Max entries (the least
// recently used goes first to make room), each forgotten once unused for
// Idle. The zero value is not usable; see New.
type Table[K comparable, V any] struct {
	max  int
	idle time.Duration

	mu  sync.Mutex
	m   map[K]*list.Element
	lru list.List // of *entry[K, V], most recently used first
}

type entry[K comparable, V any] struct {
	key  K
	v    V
	used time.Time
}

// New makes a table of at most size entries (at least 1), each forgotten
// after idle without use (0: only to make room). A limit whose state after
// idle is that of a fresh entry (a full token bucket, an ended window) loses
// nothing when its entries are forgotten.
func New[K comparable, V any](size int, idle time.Duration) *Table[K, V] {
	return &Table[K, V]{max: max(size, 1), idle: idle, m: map[K]*list.Element{}}
}

// Do runs fn, under the table's lock, on the value of key at now: v points
// at the entry's value, or at a zero value when the table has none (found
// false). When fn returns true the value is kept (added if new) and marked
// used at now; when it returns false the entry is removed, or not added.
// fn must not call the table.
func (t *Table[K, V]) Do(key K, now time.Time, fn func(v *V, found bool) (keep bool)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	el, found := t.m[key]
	if found && t.idleAt(el, now) {
		t.remove(el)
		el, found = nil, false
	}
	if found {
		e := el.Value.(*entry[K, V])
		if !fn(&e.v, true) {
			t.remove(el)
			return
		}
		e.used = now
		t.lru.MoveToFront(el)
		return
	}
	e := &entry[K, V]{key: key, used: now}
	if !fn(&e.v, false) {
		return
	}
	// Make room: the idle entries at the back first, then the least
	// recently used.
	for back := t.lru.Back(); back != nil && (t.lru.Len() >= t.max || t.idleAt(back, now)); back = t.lru.Back() {
		t.remove(back)
	}
	t.m[key] = t.lru.PushFront(e)
}

// Len is the number of entries held (idle ones not yet dropped included).
func (t *Table[K, V]) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lru.Len()
}

func (t *Table[K, V]) idleAt(el *list.Element, now time.Time) bool {
	return t.idle > 0 && now.Sub(el.Value.(*entry[K, V]).used) >= t.idle
}

func (t *Table[K, V]) remove(el *list.Element) {
	delete(t.m, el.Value.(*entry[K, V]).key)
	t.lru.Remove(el)
}
