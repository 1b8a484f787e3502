package app

import (
	"sync"

	"github.com/satchel-project/satchel"
)

// retryAfterBusy is the Retry-After, in seconds, of an upload refused for
// capacity.
const retryAfterBusy = 5

var (
	errServerBusy = &satchel.Error{Kind: satchel.KindUnavailable, Reason: satchel.ReasonServerBusy,
		Message: "Too many uploads are in progress; try again later.", RetryAfter: retryAfterBusy}
	errProjectBusy = &satchel.Error{Kind: satchel.KindThrottled, Reason: satchel.ReasonProjectBusy,
		Message: "Too many uploads are in progress for this project; try again later.", RetryAfter: retryAfterBusy}
)

// uploadSlots caps the uploads being received (Receive and PutPart, whatever
// the dialect): on the whole node and per project. Zero caps are unlimited.
type uploadSlots struct {
	maxTotal, maxProject int

	mu      sync.Mutex
	total   int
	project map[int64]int
}

// acquire takes a node-wide slot; release gives it back. Slots are
// counted (UploadsInProgress) even without a cap.
func (s *uploadSlots) acquire() (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.maxTotal > 0 && s.total >= s.maxTotal {
		return nil, errServerBusy
	}
	s.total++
	return sync.OnceFunc(func() {
		s.mu.Lock()
		s.total--
		s.mu.Unlock()
	}), nil
}

// acquireProject takes one of the project's slots; release gives it back.
func (s *uploadSlots) acquireProject(id int64) (release func(), err error) {
	if s.maxProject <= 0 {
		return func() {}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.project[id] >= s.maxProject {
		return nil, errProjectBusy
	}
	if s.project == nil {
		s.project = map[int64]int{}
	}
	s.project[id]++
	return sync.OnceFunc(func() {
		s.mu.Lock()
		if s.project[id]--; s.project[id] <= 0 {
			delete(s.project, id)
		}
		s.mu.Unlock()
	}), nil
}

// UploadsInProgress counts the uploads being received by this node: direct
// uploads and multipart part writes, of every dialect.
func (a *App) UploadsInProgress() int {
	a.slots.mu.Lock()
	defer a.slots.mu.Unlock()
	return a.slots.total
}
