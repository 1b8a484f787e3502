package cdn

import "testing"

// TestLRU checks the bound by cost, the eviction order (least recently
// used first), expiry on lookup and replacement.
func TestLRU(t *testing.T) {
	c := newLRU[string, int](10)
	c.add("a", 1, 4, 0)
	c.add("b", 2, 4, 0)
	if _, ok := c.get("a", 0); !ok { // a is now the most recent
		t.Fatal("a missing")
	}
	c.add("c", 3, 4, 0) // 12 > 10: b goes
	if _, ok := c.get("b", 0); ok {
		t.Error("b kept past the bound")
	}
	if c.total() != 8 || c.len() != 2 {
		t.Errorf("total %d, len %d; want 8, 2", c.total(), c.len())
	}
	c.add("big", 4, 11, 0) // more than the whole bound: not kept, nothing evicted
	if _, ok := c.get("big", 0); ok || c.len() != 2 {
		t.Errorf("an entry over the bound was kept (len %d)", c.len())
	}
	c.add("a", 5, 2, 100) // replaced, expires at 100
	if v, ok := c.get("a", 99); !ok || v != 5 || c.total() != 6 {
		t.Errorf("a = %d, %v, total %d; want 5, true, 6", v, ok, c.total())
	}
	if _, ok := c.get("a", 100); ok || c.len() != 1 {
		t.Errorf("expired entry served (len %d)", c.len())
	}
	c.deleteFunc(func(k string, _ int) bool { return k == "c" })
	if c.len() != 0 || c.total() != 0 {
		t.Errorf("len %d, total %d after deleting all", c.len(), c.total())
	}
}
