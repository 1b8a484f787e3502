package jobs

import "time"

// SetHeartbeatEvery shortens the heartbeat period for a test.
func SetHeartbeatEvery(d time.Duration) (restore func()) {
	old := heartbeatEvery
	heartbeatEvery = d
	return func() { heartbeatEvery = old }
}
