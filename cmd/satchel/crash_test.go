package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/satchel-project/satchel"
	_ "modernc.org/sqlite" // read the metadata store to map multipart files to sessions
)

// The crash test drives a real `satchel serve` process with concurrent
// uploads, kills it with SIGKILL mid-flight, restarts it on the same data
// directory and checks the promises an acknowledgement makes:
//
//   - every upload answered 200 is downloadable with identical bytes and
//     known to /info/;
//   - nothing unacknowledged is left behind: files/tmp/ (and tmp/) are
//     empty, every blob belongs to a file the server knows, every multipart
//     file belongs to a live session, and there is nothing else in the data
//     directory;
//   - multipart sessions survive: the parts acknowledged before the crash are
//     still there, so a session can be finished after the restart and yields
//     exactly the bytes the client sent;
//   - a /multipart/complete/ cut by the crash can be retried: it answers
//     "already uploaded" (with the file intact) or completes now, never an
//     internal error. The second crash is aimed at a completion in flight.
//
// SIGKILL does not drop the kernel's page cache, so this test cannot tell a
// missing fsync apart from a present one; it checks the ordering of writes
// (bytes before record, record before acknowledgement) and recovery.

const (
	crashPub       = "crashtestpublickey"
	crashSecret    = "crashtestsecretkey"
	crashPartSize  = 5242880
	crashMinMP     = 10485760
	crashUploaders = 16
	crashCycles    = 2

	// completionKillWindow bounds the delay between sending a
	// /multipart/complete/ and the kill aimed at it. Under the load of the
	// direct uploads the server needs tens of milliseconds to publish the
	// blob and commit the record, so a delay drawn from [0, 40ms) lands before,
	// inside and after that step.
	completionKillWindow = 40 * time.Millisecond

	msgMismatch        = "File size mismatch. Not all parts uploaded?"
	msgAlreadyUploaded = "File is already uploaded."
)

// contentPrefix starts every uploaded file, so that random bytes never sniff
// as an image or video the inspector would try to decode.
var contentPrefix = []byte("satchel crash test\x00")

func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the satchel binary; skipped in -short mode")
	}
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGKILL and SIGTERM semantics")
	}
	h := newCrashHarness(t)
	p := h.start()
	for cycle := 1; cycle <= crashCycles; cycle++ {
		h.load(p, cycle)
		p = h.start()
		h.verify(p, cycle)
		if t.Failed() {
			return
		}
		// Finish some of the sessions left open by the crash now; the others
		// stay open across the next crash. After the last cycle, finish all.
		h.resumeSessions(p, cycle, cycle == crashCycles)
	}
	h.stopGracefully(p)
	if !t.Failed() {
		files, sessions := h.ledger.counts()
		t.Logf("%d acknowledged files and %d multipart sessions survived %d crashes", files, sessions, crashCycles)
	}
}

// ackedFile is an upload the server acknowledged (or one we proved committed).
type ackedFile struct {
	uuid string
	size int64
	sum  [32]byte
	what string
}

// mpSession is a multipart upload as the client saw it.
type mpSession struct {
	uuid      string
	wave      int
	parts     []string
	data      []byte
	sum       [32]byte
	attempted []bool // a PUT of the part was sent
	acked     []bool // the PUT was answered 200
	// completeSent: /multipart/complete/ was sent; done: the file is acknowledged.
	completeSent bool
	done         bool
}

func (s *mpSession) allAttempted() bool {
	for _, a := range s.attempted {
		if !a {
			return false
		}
	}
	return true
}

func (s *mpSession) allAcked() bool {
	for _, a := range s.acked {
		if !a {
			return false
		}
	}
	return true
}

func (s *mpSession) ackedParts() int {
	n := 0
	for _, a := range s.acked {
		if a {
			n++
		}
	}
	return n
}

type crashLedger struct {
	mu       sync.Mutex
	files    []ackedFile
	byUUID   map[string]bool
	sessions []*mpSession
}

func (l *crashLedger) ack(f ackedFile) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byUUID[f.uuid] {
		return
	}
	l.byUUID[f.uuid] = true
	l.files = append(l.files, f)
}

func (l *crashLedger) addSession(s *mpSession) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sessions = append(l.sessions, s)
}

func (l *crashLedger) snapshot() ([]ackedFile, map[string]bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := make(map[string]bool, len(l.byUUID))
	for k := range l.byUUID {
		m[k] = true
	}
	return append([]ackedFile(nil), l.files...), m
}

func (l *crashLedger) counts() (files, sessions int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.files), len(l.sessions)
}

type crashHarness struct {
	t       *testing.T
	bin     string
	dataDir string
	addr    string
	ledger  *crashLedger
}

func newCrashHarness(t *testing.T) *crashHarness {
	t.Helper()
	goTool, err := goCommand()
	if err != nil {
		t.Skipf("go command not available: %v", err)
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "satchel")
	build := exec.Command(goTool, "build", "-o", bin, ".") // from the package directory
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return &crashHarness{
		t: t, bin: bin, dataDir: filepath.Join(tmp, "data"), addr: freeLoopbackAddr(t),
		ledger: &crashLedger{byUUID: map[string]bool{}},
	}
}

// start runs `satchel serve` on the harness's data dir and waits for /healthz.
func (h *crashHarness) start() *satchelProcess {
	t := h.t
	t.Helper()
	p := startSatchel(t, h.bin, h.addr, h.dataDir, crashPub, crashSecret)
	if _, err := os.Stat(filepath.Join(h.dataDir, "running")); err != nil {
		t.Errorf("running marker missing while the server runs: %v", err)
	}
	return p
}

// load runs a wave of uploads against p and kills p with SIGKILL while they
// are in flight.
func (h *crashHarness) load(p *satchelProcess, wave int) {
	t := h.t
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		killed    atomic.Bool
		wg        sync.WaitGroup
		direct    atomic.Int64
		mpDone    atomic.Int64
		opened    atomic.Int64
		failures  atomic.Int64
		failMu    sync.Mutex
		failNotes []string
		// completing signals each /multipart/complete/ request about to be sent.
		completing = make(chan struct{}, 1)
	)
	// fail records an unexpected answer: any non-200 HTTP answer, or a
	// transport error while the server was still supposed to be alive.
	fail := func(transport bool, format string, args ...any) {
		if transport && killed.Load() {
			return
		}
		failures.Add(1)
		failMu.Lock()
		defer failMu.Unlock()
		if len(failNotes) < 20 {
			failNotes = append(failNotes, fmt.Sprintf(format, args...))
		}
	}
	c := p.client

	for i := 0; i < crashUploaders; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := newChaCha()
			for n := 0; ctx.Err() == nil; n++ {
				size := 1024 + int(rnd.Uint64()%uint64(3<<20-1024+1))
				data := randomContent(rnd, size)
				id, status, body, err := uploadDirect(ctx, c, p.base, data, fmt.Sprintf("w%d-g%d-%d.bin", wave, i, n))
				switch {
				case err != nil:
					fail(isTransport(err), "direct upload of %d bytes: %v", size, err)
					return
				case status != http.StatusOK:
					fail(false, "direct upload of %d bytes: HTTP %d %q", size, status, body)
					return
				}
				h.ledger.ack(ackedFile{uuid: id, size: int64(size), sum: sha256.Sum256(data), what: fmt.Sprintf("direct upload (wave %d)", wave)})
				direct.Add(1)
			}
		}()
	}

	// Completers run whole multipart uploads; one is likely cut mid-part or
	// mid-completion by the kill.
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := newChaCha()
			for ctx.Err() == nil {
				s, err := h.startMultipart(ctx, c, p.base, rnd, wave)
				if err != nil {
					fail(isTransport(err), "multipart start: %v", err)
					return
				}
				for n := range s.parts {
					s.attempted[n] = true
					if err := putPart(ctx, c, s, n); err != nil {
						fail(isTransport(err), "multipart part %d of %s: %v", n+1, s.uuid, err)
						return
					}
					s.acked[n] = true
				}
				s.completeSent = true
				select {
				case completing <- struct{}{}:
				default:
				}
				status, body, err := completeMultipart(ctx, c, p.base, s.uuid)
				if err != nil {
					fail(true, "multipart complete %s: %v", s.uuid, err)
					return
				}
				if status != http.StatusOK {
					fail(false, "multipart complete %s: HTTP %d %q", s.uuid, status, body)
					return
				}
				if got := fileUUID(body); got != s.uuid {
					fail(false, "multipart complete %s answered uuid %q: %s", s.uuid, got, body)
					return
				}
				s.done = true
				h.ledger.ack(ackedFile{uuid: s.uuid, size: int64(len(s.data)), sum: s.sum, what: fmt.Sprintf("multipart upload (wave %d)", wave)})
				s.data = nil
				mpDone.Add(1)
			}
		}()
	}

	// The opener leaves two sessions in flight: some parts uploaded, at least
	// one never sent.
	wg.Add(1)
	go func() {
		defer wg.Done()
		rnd := newChaCha()
		for k := 0; k < 2; k++ {
			s, err := h.startMultipart(ctx, c, p.base, rnd, wave)
			if err != nil {
				fail(isTransport(err), "multipart start: %v", err)
				return
			}
			skip := int(rnd.Uint64() % uint64(len(s.parts)))
			for n := range s.parts {
				if n == skip {
					continue
				}
				s.attempted[n] = true
				if err := putPart(ctx, c, s, n); err != nil {
					fail(isTransport(err), "multipart part %d of %s: %v", n+1, s.uuid, err)
					return
				}
				s.acked[n] = true
			}
			opened.Add(1)
		}
	}()

	begin := time.Now()
	minLoad := 1500*time.Millisecond + time.Duration(rand.Int64N(int64(500*time.Millisecond)))
	for time.Since(begin) < minLoad || mpDone.Load() < 1 || opened.Load() < 2 {
		if failures.Load() > 0 || time.Since(begin) > 20*time.Second {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if wave%2 == 0 && failures.Load() == 0 {
		// Aim this crash at a multipart completion: the moment the file
		// moves from files/multipart/ to files/blobs/ and its record is
		// written must be crash-safe too.
		select {
		case <-completing:
		default:
		}
		select {
		case <-completing:
			time.Sleep(time.Duration(rand.Int64N(int64(completionKillWindow))))
		case <-time.After(5 * time.Second):
		}
	}
	loadFor := time.Since(begin)
	killed.Store(true)
	p.kill()
	cancel()
	wg.Wait()

	for _, n := range failNotes {
		t.Errorf("wave %d: unexpected answer while the server was up: %s", wave, n)
	}
	if failures.Load() == 0 && (mpDone.Load() < 1 || opened.Load() < 2) {
		t.Fatalf("wave %d: load never reached the kill condition in %v (multipart completed %d, sessions opened %d)", wave, loadFor, mpDone.Load(), opened.Load())
	}
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("wave %d: SIGKILL after %v: %d direct and %d multipart uploads acknowledged", wave, loadFor.Round(time.Millisecond), direct.Load(), mpDone.Load())
}

// verify checks a restarted node against everything acknowledged so far.
func (h *crashHarness) verify(p *satchelProcess, cycle int) {
	t := h.t
	// Look at the data dir first, before this process writes anything.
	snap := h.scanDataDir(cycle)
	acked, ackedSet := h.ledger.snapshot()

	// 1. Every acknowledged upload is there, byte for byte.
	parallel(8, len(acked), func(i int) {
		h.checkFile(p, acked[i], cycle)
	})

	db := h.openDB()
	defer db.Close()

	// 2. Every blob belongs to a file the server knows, or is the published
	// bytes of a multipart session whose completion the crash cut before its
	// record was committed: the session is still open and retrying the
	// completion (below) must turn the blob into the file.
	var unknown []string
	for id := range snap.blobs {
		if !ackedSet[id] {
			unknown = append(unknown, id)
		}
	}
	sort.Strings(unknown)
	var (
		pendingMu sync.Mutex
		pending   []string
	)
	parallel(8, len(unknown), func(i int) {
		id := unknown[i]
		info, status, body, err := fileInfo(p.client, p.base, id)
		switch {
		case err != nil:
			t.Errorf("cycle %d: /info/ of unacknowledged blob %s: %v", cycle, id, err)
		case status == http.StatusNotFound:
			var one int
			err := db.QueryRow(`SELECT 1 FROM upload_sessions WHERE uuid = ?`, id).Scan(&one)
			if err == nil {
				pendingMu.Lock()
				pending = append(pending, id)
				pendingMu.Unlock()
				return
			}
			if !errors.Is(err, sql.ErrNoRows) {
				t.Errorf("read upload_sessions: %v", err)
				return
			}
			t.Errorf("cycle %d: orphan blob files/blobs/%s/%s (%d bytes): the server has no file for it (/info/ 404 %q) and no open session, recovery should have removed it", cycle, id[0:2], id, snap.blobs[id], body)
		case status != http.StatusOK:
			t.Errorf("cycle %d: /info/ of unacknowledged blob %s: HTTP %d %q", cycle, id, status, body)
		case info.Size != snap.blobs[id]:
			t.Errorf("cycle %d: blob %s has %d bytes, /info/ says %d", cycle, id, snap.blobs[id], info.Size)
		}
	})

	// 3. Every multipart file belongs to a live session; a session the client
	// does not know (start answered after the kill) or one with parts never
	// sent must still say not all parts are uploaded.
	sessions := map[string]*mpSession{}
	for _, s := range h.ledger.sessions {
		sessions[s.uuid] = s
	}
	liveUploads := map[string]string{} // multipart file → session uuid
	for _, up := range snap.multipart {
		var id string
		err := db.QueryRow(`SELECT uuid FROM upload_sessions WHERE upload = ?`, up).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			t.Errorf("cycle %d: orphan multipart file files/multipart/%s: no session row, recovery should have removed it", cycle, up)
			continue
		}
		if err != nil {
			t.Fatalf("read upload_sessions: %v", err)
		}
		liveUploads[up] = id
		if s := sessions[id]; s != nil && s.allAttempted() {
			continue // may legitimately complete; checked below
		}
		status, body, err := completeMultipart(context.Background(), p.client, p.base, id)
		if err != nil || status != http.StatusBadRequest || string(body) != msgMismatch {
			t.Errorf("cycle %d: files/multipart/%s (session %s) remains, but /multipart/complete/ answers %d %q (err %v), want 400 %q", cycle, up, id, status, body, err, msgMismatch)
		}
	}

	// 4. Every session the client knows and that is not acknowledged as a
	// file is either still open with all acknowledged parts, or finished with
	// exactly the client's bytes.
	for _, s := range h.ledger.sessions {
		if s.done {
			continue
		}
		var up string
		hasRow := true
		if err := db.QueryRow(`SELECT upload FROM upload_sessions WHERE uuid = ?`, s.uuid).Scan(&up); errors.Is(err, sql.ErrNoRows) {
			hasRow = false
		} else if err != nil {
			t.Fatalf("read upload_sessions: %v", err)
		}
		status, body, err := completeMultipart(context.Background(), p.client, p.base, s.uuid)
		if err != nil {
			t.Errorf("cycle %d: /multipart/complete/ of session %s: %v", cycle, s.uuid, err)
			continue
		}
		state := fmt.Sprintf("session %s (wave %d, %d/%d parts acknowledged, all sent %t, complete sent %t)", s.uuid, s.wave, s.ackedParts(), len(s.parts), s.allAttempted(), s.completeSent)
		switch {
		case status == http.StatusBadRequest && string(body) == msgMismatch:
			if s.allAcked() {
				t.Errorf("cycle %d: %s: every part was acknowledged, but complete says %q: an acknowledged part was lost", cycle, state, body)
			}
			if !hasRow {
				t.Errorf("cycle %d: %s: complete says %q but there is no session row", cycle, state, body)
			} else if liveUploads[up] != s.uuid {
				t.Errorf("cycle %d: %s: session alive but its multipart file files/multipart/%s is gone", cycle, state, up)
			}
		case status == http.StatusOK:
			if got := fileUUID(body); got != s.uuid {
				t.Errorf("cycle %d: %s: complete answered uuid %q: %s", cycle, state, got, body)
				continue
			}
			if !s.allAttempted() {
				t.Errorf("cycle %d: %s: completed although a part was never sent", cycle, state)
				continue
			}
			h.finishSession(p, s, "multipart completed after restart", cycle)
		case status == http.StatusBadRequest && string(body) == msgAlreadyUploaded:
			if !s.completeSent {
				t.Errorf("cycle %d: %s: complete says %q but it was never sent", cycle, state, body)
				continue
			}
			h.finishSession(p, s, "multipart whose completion was cut by the crash", cycle)
		default:
			t.Errorf("cycle %d: %s: /multipart/complete/ after the restart answers HTTP %d %q; want 200, %q (completion committed before the crash) or %q (session still open)", cycle, state, status, body, msgAlreadyUploaded, msgMismatch)
		}
	}

	// 5. The blobs of interrupted completions are files now.
	for _, id := range pending {
		if sessions[id] == nil {
			// A session the client never heard of cannot have all its parts.
			t.Errorf("cycle %d: blob %s belongs to open session the client never started", cycle, id)
			continue
		}
		info, status, body, err := fileInfo(p.client, p.base, id)
		if err != nil || status != http.StatusOK || info.Size != snap.blobs[id] {
			t.Errorf("cycle %d: blob %s of a session whose completion the crash cut is still not a file of %d bytes after /multipart/complete/ was retried: /info/ answers %d %q (err %v)", cycle, id, snap.blobs[id], status, body, err)
		}
	}
	t.Logf("cycle %d: restart checked %d acknowledged files, %d unacknowledged blobs (%d of interrupted completions), %d open multipart files", cycle, len(acked), len(unknown), len(pending), len(snap.multipart))
}

// finishSession records a session that turned out complete and checks its bytes.
func (h *crashHarness) finishSession(p *satchelProcess, s *mpSession, what string, cycle int) {
	s.done = true
	f := ackedFile{uuid: s.uuid, size: int64(len(s.data)), sum: s.sum, what: fmt.Sprintf("%s (wave %d)", what, s.wave)}
	s.data = nil
	h.ledger.ack(f)
	h.checkFile(p, f, cycle)
}

// resumeSessions uploads the missing parts of open sessions and completes
// them: the parts acknowledged before a crash must still hold their bytes.
func (h *crashHarness) resumeSessions(p *satchelProcess, cycle int, all bool) {
	t := h.t
	ctx := context.Background()
	k := 0
	for _, s := range h.ledger.sessions {
		if s.done {
			continue
		}
		k++
		if !all && k%2 == 0 {
			continue
		}
		for n := range s.parts {
			if s.acked[n] {
				continue
			}
			s.attempted[n] = true
			if err := putPart(ctx, p.client, s, n); err != nil {
				t.Errorf("cycle %d: resume session %s (wave %d): part %d: %v", cycle, s.uuid, s.wave, n+1, err)
				return
			}
			s.acked[n] = true
		}
		s.completeSent = true
		status, body, err := completeMultipart(ctx, p.client, p.base, s.uuid)
		if err != nil || status != http.StatusOK || fileUUID(body) != s.uuid {
			t.Errorf("cycle %d: resume session %s (wave %d, %d/%d parts acknowledged before): complete answered %d %q (err %v)", cycle, s.uuid, s.wave, s.ackedParts(), len(s.parts), status, body, err)
			return
		}
		h.finishSession(p, s, "multipart resumed after restart", cycle)
	}
}

// checkFile downloads an acknowledged file and asks /info/ about it.
func (h *crashHarness) checkFile(p *satchelProcess, f ackedFile, cycle int) {
	t := h.t
	resp, err := p.client.Get(p.base + "/" + f.uuid + "/")
	if err != nil {
		t.Errorf("cycle %d: download %s (%s): %v", cycle, f.uuid, f.what, err)
		return
	}
	hash := sha256.New()
	n, err := io.Copy(hash, resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Errorf("cycle %d: download %s (%s): %v", cycle, f.uuid, f.what, err)
		return
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("cycle %d: acknowledged %s %s lost: GET /%s/ answers HTTP %d", cycle, f.what, f.uuid, f.uuid, resp.StatusCode)
		return
	}
	if got := hash.Sum(nil); n != f.size || !bytes.Equal(got, f.sum[:]) {
		t.Errorf("cycle %d: acknowledged %s %s corrupted: got %d bytes sha256 %x, want %d bytes sha256 %x", cycle, f.what, f.uuid, n, got, f.size, f.sum)
	}
	info, status, body, err := fileInfo(p.client, p.base, f.uuid)
	switch {
	case err != nil:
		t.Errorf("cycle %d: /info/ of %s: %v", cycle, f.uuid, err)
	case status != http.StatusOK:
		t.Errorf("cycle %d: /info/ of acknowledged %s %s: HTTP %d %q", cycle, f.what, f.uuid, status, body)
	case info.UUID != f.uuid || info.Size != f.size:
		t.Errorf("cycle %d: /info/ of %s says uuid %s size %d, want size %d", cycle, f.uuid, info.UUID, info.Size, f.size)
	}
}

type dataDirSnapshot struct {
	blobs     map[string]int64 // uuid → size
	multipart []string         // upload ids
}

// scanDataDir lists the data directory and flags anything that should not
// be there after a restart.
func (h *crashHarness) scanDataDir(cycle int) dataDirSnapshot {
	t := h.t
	snap := dataDirSnapshot{blobs: map[string]int64{}}
	top, err := os.ReadDir(h.dataDir)
	if err != nil {
		t.Fatalf("read data dir: %v", err)
	}
	for _, e := range top {
		switch name := e.Name(); {
		case name == "files" && e.IsDir():
		case name == "tmp" && e.IsDir():
			// Short-lived local copies; emptied at every start.
			left, err := os.ReadDir(filepath.Join(h.dataDir, "tmp"))
			if err != nil {
				t.Fatalf("read tmp: %v", err)
			}
			for _, e := range left {
				t.Errorf("cycle %d: tmp/%s survived the restart", cycle, e.Name())
			}
		case name == "variants" && e.IsDir():
			// The variant cache is disposable, but no half-written variant
			// may survive a restart.
			filepath.WalkDir(filepath.Join(h.dataDir, "variants"), func(p string, d os.DirEntry, err error) error {
				if err == nil && strings.HasPrefix(d.Name(), ".tmp-") {
					t.Errorf("cycle %d: partial variant %s survived the restart", cycle, p)
				}
				return nil
			})
		case (name == "satchel.db" || name == "satchel.db-wal" || name == "satchel.db-shm" || name == "running") && e.Type().IsRegular():
		default:
			t.Errorf("cycle %d: stray entry in the data dir: %s (%v)", cycle, name, e.Type())
		}
	}
	files := filepath.Join(h.dataDir, "files")
	sub, err := os.ReadDir(files)
	if err != nil {
		t.Fatalf("read files dir: %v", err)
	}
	for _, e := range sub {
		if !e.IsDir() || (e.Name() != "blobs" && e.Name() != "tmp" && e.Name() != "multipart") {
			t.Errorf("cycle %d: stray entry files/%s (%v)", cycle, e.Name(), e.Type())
		}
	}
	// files/tmp holds only its (empty) shard directories after a restart.
	err = filepath.WalkDir(filepath.Join(files, "tmp"), func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() {
			t.Errorf("cycle %d: %s survived the restart", cycle, p)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("read files/tmp: %v", err)
	}
	blobs := filepath.Join(files, "blobs")
	err = filepath.WalkDir(blobs, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(blobs, path)
		if rel == "." {
			return nil
		}
		segs := strings.Split(filepath.ToSlash(rel), "/")
		if e.IsDir() {
			if len(segs) > 1 {
				t.Errorf("cycle %d: unexpected directory files/blobs/%s", cycle, rel)
				return fs.SkipDir
			}
			return nil
		}
		name := e.Name()
		if !e.Type().IsRegular() || len(segs) != 2 || !satchel.ValidUUID(name) || segs[0] != name[0:2] {
			t.Errorf("cycle %d: stray file files/blobs/%s", cycle, rel)
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		snap.blobs[name] = info.Size()
		return nil
	})
	if err != nil {
		t.Fatalf("walk files/blobs: %v", err)
	}
	mp, err := os.ReadDir(filepath.Join(files, "multipart"))
	if err != nil {
		t.Fatalf("read files/multipart: %v", err)
	}
	for _, e := range mp {
		if !e.Type().IsRegular() {
			t.Errorf("cycle %d: stray entry files/multipart/%s (%v)", cycle, e.Name(), e.Type())
			continue
		}
		snap.multipart = append(snap.multipart, e.Name())
	}
	return snap
}

func (h *crashHarness) openDB() *sql.DB {
	h.t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(h.dataDir, "satchel.db")+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		h.t.Fatalf("open satchel.db read-only: %v", err)
	}
	return db
}

// stopGracefully sends SIGTERM and expects a clean exit that removes the
// running marker.
func (h *crashHarness) stopGracefully(p *satchelProcess) {
	t := h.t
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("satchel did not stop within 20s of SIGTERM")
	}
	if p.waitErr != nil {
		t.Errorf("satchel exited with %v after SIGTERM", p.waitErr)
	}
	if _, err := os.Stat(filepath.Join(h.dataDir, "running")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("running marker still present after a clean stop (stat: %v)", err)
	}
}

// startMultipart opens a session of 2–4 parts with random content.
func (h *crashHarness) startMultipart(ctx context.Context, c *http.Client, base string, rnd *rand.ChaCha8, wave int) (*mpSession, error) {
	size := crashMinMP + int(rnd.Uint64()%uint64(crashMinMP))
	data := randomContent(rnd, size)
	form := url.Values{
		"UPLOADCARE_PUB_KEY": {crashPub},
		"UPLOADCARE_STORE":   {"1"},
		"filename":           {fmt.Sprintf("crash-w%d.bin", wave)},
		"size":               {fmt.Sprint(size)},
		"content_type":       {"application/octet-stream"},
	}
	status, body, err := postForm(ctx, c, base+"/multipart/start/", form)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d %q", status, body)
	}
	var out struct {
		UUID  string   `json:"uuid"`
		Parts []string `json:"parts"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("decode %q: %v", body, err)
	}
	if want := (size + crashPartSize - 1) / crashPartSize; len(out.Parts) != want || !satchel.ValidUUID(out.UUID) {
		return nil, fmt.Errorf("start answered %s, want a uuid and %d parts", body, want)
	}
	s := &mpSession{
		uuid: out.UUID, wave: wave, parts: out.Parts, data: data, sum: sha256.Sum256(data),
		attempted: make([]bool, len(out.Parts)), acked: make([]bool, len(out.Parts)),
	}
	h.ledger.addSession(s)
	return s, nil
}

func putPart(ctx context.Context, c *http.Client, s *mpSession, n int) error {
	off := n * crashPartSize
	end := min(off+crashPartSize, len(s.data))
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, s.parts[n], bytes.NewReader(s.data[off:end]))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.Do(req)
	if err != nil {
		return transportError{err}
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return transportError{err}
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d %q", resp.StatusCode, body)
	}
	return nil
}

func completeMultipart(ctx context.Context, c *http.Client, base, id string) (int, []byte, error) {
	return postForm(ctx, c, base+"/multipart/complete/", url.Values{"UPLOADCARE_PUB_KEY": {crashPub}, "uuid": {id}})
}

func uploadDirect(ctx context.Context, c *http.Client, base string, data []byte, filename string) (string, int, []byte, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("UPLOADCARE_PUB_KEY", crashPub)
	mw.WriteField("UPLOADCARE_STORE", "1")
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		return "", 0, nil, err
	}
	fw.Write(data)
	if err := mw.Close(); err != nil {
		return "", 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/base/", &buf)
	if err != nil {
		return "", 0, nil, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	status, body, err := do(c, req)
	if err != nil || status != http.StatusOK {
		return "", status, body, err
	}
	var out struct {
		File string `json:"file"`
	}
	if err := json.Unmarshal(body, &out); err != nil || !satchel.ValidUUID(out.File) {
		return "", 0, body, fmt.Errorf("200 with body %q", body)
	}
	return out.File, status, body, nil
}

type infoAnswer struct {
	UUID string `json:"uuid"`
	Size int64  `json:"size"`
}

func fileInfo(c *http.Client, base, id string) (infoAnswer, int, []byte, error) {
	var info infoAnswer
	q := url.Values{"pub_key": {crashPub}, "file_id": {id}}
	req, err := http.NewRequest(http.MethodGet, base+"/info/?"+q.Encode(), nil)
	if err != nil {
		return info, 0, nil, err
	}
	status, body, err := do(c, req)
	if err != nil || status != http.StatusOK {
		return info, status, body, err
	}
	if err := json.Unmarshal(body, &info); err != nil {
		return info, status, body, fmt.Errorf("decode /info/ %q: %v", body, err)
	}
	return info, status, body, nil
}

func fileUUID(body []byte) string {
	var out struct {
		UUID string `json:"uuid"`
	}
	if json.Unmarshal(body, &out) != nil {
		return ""
	}
	return out.UUID
}

func postForm(ctx context.Context, c *http.Client, u string, form url.Values) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(c, req)
}

// do sends req and reads the whole answer; failures to get one are
// transportErrors.
func do(c *http.Client, req *http.Request) (int, []byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, transportError{err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, transportError{err}
	}
	return resp.StatusCode, body, nil
}

// transportError is a request that got no complete HTTP answer.
type transportError struct{ err error }

func (e transportError) Error() string { return e.err.Error() }
func (e transportError) Unwrap() error { return e.err }

func isTransport(err error) bool {
	var te transportError
	return errors.As(err, &te)
}

func newChaCha() *rand.ChaCha8 {
	var seed [32]byte
	for i := range seed {
		seed[i] = byte(rand.Uint32())
	}
	return rand.NewChaCha8(seed)
}

func randomContent(rnd *rand.ChaCha8, size int) []byte {
	b := make([]byte, size)
	n := copy(b, contentPrefix)
	rnd.Read(b[n:])
	return b
}

// parallel runs fn(0..n-1) on up to workers goroutines.
func parallel(workers, n int, fn func(i int)) {
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}
