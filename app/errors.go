package app

import "github.com/satchel-project/satchel"

// newError builds a domain error of a kind and reason with a formatted
// message (see satchel.Errorf).
var newError = satchel.Errorf

// invalid is a KindInvalid error about the request value field.
func invalid(reason satchel.Reason, field, format string, args ...any) *satchel.Error {
	e := satchel.Errorf(satchel.KindInvalid, reason, format, args...)
	e.Field = field
	return e
}

// withLimit sets the limit an error is about and returns it.
func withLimit(e *satchel.Error, limit int64) *satchel.Error {
	e.Limit = limit
	return e
}

// withValue sets the offending value an error is about and returns it.
func withValue(e *satchel.Error, value string) *satchel.Error {
	e.Value = value
	return e
}

// errTypeForbidden refuses a file whose type the project does not accept.
func errTypeForbidden() *satchel.Error {
	return newError(satchel.KindForbidden, satchel.ReasonFileTypeForbidden, "Uploading of these file types is not allowed.")
}

func errFileNotFound() *satchel.Error {
	return newError(satchel.KindNotFound, satchel.ReasonFileNotFound, "File is not found.")
}

// errCopySource refuses a copy source that names no live file.
func errCopySource(source string) *satchel.Error {
	return withValue(invalid(satchel.ReasonCopySourceInvalid, "source", "source is not a file UUID or CDN URL."), source)
}
