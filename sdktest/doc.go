// Package sdktest holds the tests of the Go SDK (the separate module
// github.com/satchel-project/satchel/ucare) that need the server: they run
// the SDK against a real Satchel started in-process, check that its
// transformation builder and URL grammar read CDN URLs exactly as the CDN
// does, and that the CDN verifies its secure URLs. The SDK module's own
// tests need no server.
package sdktest
