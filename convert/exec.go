package convert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Error is a conversion the converter refused or could not finish (bad
// input, a limit, a crash or a timeout): its job fails with Msg. Other
// errors (a shutdown) are retried.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

func failf(format string, args ...any) error { return &Error{Msg: fmt.Sprintf(format, args...)} }

// ErrUnavailable is returned when a converter program is not installed.
var ErrUnavailable = errors.New("convert: converter unavailable")

// command runs a program in its own process group, which is killed as a
// whole when ctx ends (LibreOffice and ffmpeg start children).
func command(ctx context.Context, dir string, env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs cmd with a timeout. A timeout becomes an *Error; the end of
// the parent ctx is returned as is (the job is retried).
func run(parent context.Context, timeout time.Duration, what, dir string, env []string, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	cmd := command(ctx, dir, env, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err == nil {
		return out.Bytes(), nil
	}
	if parent.Err() != nil {
		return nil, parent.Err()
	}
	if ctx.Err() != nil {
		return nil, failf("%s took longer than %s.", what, timeout)
	}
	if errors.Is(err, exec.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrUnavailable, name)
	}
	return nil, failf("%s failed: %s", what, lastLine(errb.String(), err))
}

func lastLine(s string, err error) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if s == "" {
		return err.Error()
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
