// Package ucare is a Go client for the Uploadcare APIs — the Upload API, the
// REST API and the CDN — that works equally against Uploadcare itself and
// against a self-hosted Satchel: every host is a setting.
//
// A Client is made from a Config holding the project keys and, optionally,
// the three base URLs (UploadBase, APIBase, CDNBase; Uploadcare's public hosts
// by default):
//
//	client, err := ucare.NewClient(ucare.Config{
//		PublicKey:  "demopublickey",
//		SecretKey:  "demosecretkey",
//		UploadBase: "http://127.0.0.1:8080",
//		APIBase:    "http://127.0.0.1:8080",
//		CDNBase:    "http://127.0.0.1:8080",
//	})
//
// Uploads take any io.Reader and pick a direct or a multipart upload by size
// (Upload, UploadFile, UploadFiles); multipart parts go up in parallel, each
// retried, and a multipart upload that still fails returns a
// *MultipartUploadError whose Upload can be resumed. UploadFromURL and
// UploadFromURLAndWait fetch from a URL. Every upload kind reports progress
// through UploadOptions.Progress.
//
// The REST side covers files (ListFiles iterates over every page, FileInfo,
// StoreFile, DeleteFile, StoreFiles and DeleteFiles in chunks of 100,
// CopyFileLocal, CopyFileRemote), metadata, tags, groups, the project,
// webhooks, document and video conversion with typed path builders, and
// add-ons. REST calls are signed (HMAC-SHA1, the default) or use simple
// authentication (Config.Auth).
//
// Transformation builds image operations with the typed operations of the
// CDN URL grammar (package cdnurl, github.com/satchel-project/satchel/ucare/cdnurl),
// so a URL the builder makes is exactly what the CDN parses.
// AkamaiACLURLBuilder and AkamaiURLTokenBuilder make secure URLs.
//
// The SDK is its own Go module, github.com/satchel-project/satchel/ucare,
// with no dependency outside the standard library: it brings in no server
// code, cgo or SQLite. Its releases are tagged ucare/vX.Y.Z.
//
// Errors mirror pyuploadcare's exception classes: *APIError is the root of
// every API failure, with *AuthenticationError, *InvalidRequestError,
// *ThrottledRequestError, *WebhookIsNotUnique wrapping it; *DuplicateFileError,
// *TimeoutError, *UploadError, *JobError, *APIConnectionError and *InvalidParamError cover
// the rest. Use errors.As to tell them apart, and IsNotFound for 404s.
package ucare
