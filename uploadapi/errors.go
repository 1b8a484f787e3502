package uploadapi

import (
	"errors"
	"net/http"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/fetch"
)

// The reasons of the errors the Upload API raises itself, while reading a
// request.
const (
	reasonBodyIncomplete      satchel.Reason = "upload.body_incomplete"
	reasonFormMalformed       satchel.Reason = "upload.form_malformed"
	reasonTooManyFields       satchel.Reason = "upload.too_many_fields"
	reasonRequestTooLarge     satchel.Reason = "upload.request_too_large"
	reasonNullChars           satchel.Reason = "upload.null_chars"
	reasonMetaKeyDuplicated   satchel.Reason = "upload.meta_key_duplicated"
	reasonTooManyFiles        satchel.Reason = "upload.too_many_files"
	reasonFileFieldDuplicated satchel.Reason = "upload.file_field_duplicated"
	reasonFilesRequired       satchel.Reason = "upload.files_required"
	reasonParamRequired       satchel.Reason = "upload.param_required" // Field
	reasonSizeInvalid         satchel.Reason = "upload.size_invalid"
	reasonPartSizeInvalid     satchel.Reason = "upload.part_size_invalid"
)

// An errorRow is how the Upload API answers one kind of error.
type errorRow struct {
	status int
	// code is the Uploadcare error code; empty for a refused source URL,
	// whose code is the fetcher's own.
	code string
	// message words the error, with the error's data filled in (see
	// satchel.Error.Fill); empty means the error's own sentence.
	message string
}

// errorRows is the Upload API's wording of every error it can answer, by
// reason.
var errorRows = map[satchel.Reason]errorRow{
	satchel.ReasonBodyTimeout:    {http.StatusRequestTimeout, "RequestTimeoutError", ""},
	satchel.ReasonThrottled:      {http.StatusTooManyRequests, "RequestThrottledError", ""},
	satchel.ReasonStoreInvalid:   {http.StatusBadRequest, "UploadcareStoreInvalidError", ""},
	satchel.ReasonFetchRefused:   {http.StatusBadRequest, "", ""},
	satchel.ReasonSourceRequired: {http.StatusBadRequest, "SourceURLRequiredError", ""},
	satchel.ReasonTokenRequired:  {http.StatusBadRequest, "TokenRequiredError", ""},
	satchel.ReasonKeyRequired:    {http.StatusForbidden, "ProjectPublicKeyRequiredError", ""},
	satchel.ReasonKeyInvalid:     {http.StatusForbidden, "ProjectPublicKeyInvalidError", ""},
	satchel.ReasonSigRequired:    {http.StatusBadRequest, "SignatureRequiredError", "`signature` is required."},
	satchel.ReasonSigExpRequired: {http.StatusBadRequest, "SignatureExpirationRequiredError", "`expire` is required."},
	satchel.ReasonSigExpInvalid:  {http.StatusBadRequest, "SignatureExpirationInvalidError", "`expire` must be a UNIX timestamp."},
	satchel.ReasonSigExpired:     {http.StatusForbidden, "SignatureExpirationError", ""},
	satchel.ReasonSigInvalid:     {http.StatusForbidden, "SignatureInvalidError", ""},

	satchel.ReasonFileIDRequired:     {http.StatusBadRequest, "FileIdRequiredError", ""},
	satchel.ReasonFileIDInvalid:      {http.StatusBadRequest, "FileIdInvalidError", ""},
	satchel.ReasonFileNotFound:       {http.StatusNotFound, "FileNotFoundError", ""},
	satchel.ReasonFileTooLarge:       {http.StatusBadRequest, "FileSizeLimitExceededError", ""},
	satchel.ReasonFileTypeForbidden:  {http.StatusBadRequest, "FileTypeForbiddenError", ""},
	satchel.ReasonMetaKeyEmpty:       {http.StatusBadRequest, "FileMetadataKeyEmptyError", ""},
	satchel.ReasonMetaKeyTooLong:     {http.StatusBadRequest, "FileMetadataKeyLengthTooBigError", ""},
	satchel.ReasonMetaKeyForbidden:   {http.StatusBadRequest, "FileMetadataKeyForbiddenError", ""},
	satchel.ReasonMetaValueEmpty:     {http.StatusBadRequest, "FileMetadataValueEmptyError", ""},
	satchel.ReasonMetaValueTooLong:   {http.StatusBadRequest, "FileMetadataValueLengthTooBigError", ""},
	satchel.ReasonMetaValueForbidden: {http.StatusBadRequest, "FileMetadataValueForbiddenError", ""},
	satchel.ReasonMetaTooManyKeys:    {http.StatusBadRequest, "FileMetadataKeysNumberTooBigError", ""},
	satchel.ReasonTagTooLong:         {http.StatusBadRequest, "FileTagLengthTooBigError", ""},
	satchel.ReasonTagForbidden:       {http.StatusBadRequest, "FileTagForbiddenError", ""},
	satchel.ReasonTooManyTags:        {http.StatusBadRequest, "FileTagsNumberTooBigError", ""},

	satchel.ReasonMultipartTooSmall: {http.StatusBadRequest, "MultipartFileSizeTooSmallError",
		"File size can not be less than {limit} bytes. Please use direct upload instead of multipart."},
	satchel.ReasonMultipartTooLarge:  {http.StatusBadRequest, "MultipartFileSizeLimitExceededError", ""},
	satchel.ReasonPartSizeTooSmall:   {http.StatusBadRequest, "MultipartPartSizeTooSmallError", ""},
	satchel.ReasonPartSizeTooBig:     {http.StatusBadRequest, "MultipartPartSizeTooBigError", ""},
	satchel.ReasonTooManyParts:       {http.StatusBadRequest, "MultipartPartSizeTooSmallError", ""},
	satchel.ReasonPartURLInvalid:     {http.StatusForbidden, "MultipartPartURLInvalidError", ""},
	satchel.ReasonPartSizeMismatch:   {http.StatusBadRequest, "MultipartPartSizeInvalidError", ""},
	satchel.ReasonPartConflict:       {http.StatusConflict, "MultipartPartConflictError", ""},
	satchel.ReasonUploadIDRequired:   {http.StatusBadRequest, "MultipartFileIdRequiredError", ""},
	satchel.ReasonUploadIDInvalid:    {http.StatusBadRequest, "UUIDInvalidError", ""},
	satchel.ReasonUploadNotFound:     {http.StatusNotFound, "MultipartFileNotFoundError", ""},
	satchel.ReasonUploadDone:         {http.StatusBadRequest, "MultipartFileAlreadyUploadedError", ""},
	satchel.ReasonUploadIncomplete:   {http.StatusBadRequest, "MultipartUploadSizeTooSmallError", ""},
	satchel.ReasonUploadSizeMismatch: {http.StatusBadRequest, "MultipartFileCompletionFailedError", ""},
	satchel.ReasonUploadOverExpected: {http.StatusBadRequest, "MultipartUploadSizeTooLargeError", ""},

	satchel.ReasonGroupFilesRequired: {http.StatusBadRequest, "GroupFilesInvalidError", "No files[N] parameters found."},
	satchel.ReasonGroupTooManyFiles:  {http.StatusBadRequest, "FilesNumberLimitExceededError", ""},
	satchel.ReasonGroupFileInvalid:   {http.StatusBadRequest, "GroupFileURLParsingFailedError", ""},
	satchel.ReasonGroupFilesNotFound: {http.StatusBadRequest, "GroupFilesNotFoundError", ""},
	satchel.ReasonGroupIDRequired:    {http.StatusBadRequest, "GroupIdRequiredError", ""},
	satchel.ReasonGroupNotFound:      {http.StatusNotFound, "GroupNotFoundError", "group_id is invalid."},

	reasonBodyIncomplete:      {http.StatusBadRequest, "RequestBodyIncompleteError", ""},
	reasonFormMalformed:       {http.StatusBadRequest, "PostRequestParserFailedError", ""},
	reasonTooManyFields:       {http.StatusBadRequest, "RequestFiledsNumberLimitExceededError", ""},
	reasonRequestTooLarge:     {http.StatusRequestEntityTooLarge, "RequestSizeLimitExceededError", ""},
	reasonNullChars:           {http.StatusBadRequest, "NullCharactersForbiddenError", ""},
	reasonMetaKeyDuplicated:   {http.StatusBadRequest, "FileMetadataKeyDuplicatedError", ""},
	reasonTooManyFiles:        {http.StatusBadRequest, "RequestFileNumberLimitExceededError", ""},
	reasonFileFieldDuplicated: {http.StatusBadRequest, "FileFieldDuplicatedError", ""},
	reasonFilesRequired:       {http.StatusBadRequest, "FilesRequiredError", ""},
	reasonParamRequired:       {http.StatusBadRequest, "RequestParamRequiredError", ""},
	reasonSizeInvalid:         {http.StatusBadRequest, "MultipartSizeInvalidError", ""},
	reasonPartSizeInvalid:     {http.StatusBadRequest, "MultipartPartSizeInvalidError", ""},
	satchel.ReasonServerBusy:  {http.StatusServiceUnavailable, "RequestThrottledError", ""},
	satchel.ReasonProjectBusy: {http.StatusTooManyRequests, "RequestThrottledError", ""},
}

// kindRows answer errors whose reason has no row (internal errors, mostly).
var kindRows = map[satchel.Kind]errorRow{
	satchel.KindInternal:     {http.StatusInternalServerError, "UploadAPIError", "Internal error."},
	satchel.KindInvalid:      {http.StatusBadRequest, "UploadAPIError", ""},
	satchel.KindNotFound:     {http.StatusNotFound, "UploadAPIError", ""},
	satchel.KindConflict:     {http.StatusConflict, "UploadAPIError", ""},
	satchel.KindForbidden:    {http.StatusForbidden, "UploadAPIError", ""},
	satchel.KindUnauthorized: {http.StatusForbidden, "UploadAPIError", ""},
	satchel.KindTooLarge:     {http.StatusRequestEntityTooLarge, "UploadAPIError", ""},
	satchel.KindThrottled:    {http.StatusTooManyRequests, "RequestThrottledError", ""},
	satchel.KindUnavailable:  {http.StatusServiceUnavailable, "UploadAPIError", ""},
	satchel.KindExpired:      {http.StatusForbidden, "UploadAPIError", ""},
	satchel.KindTimeout:      {http.StatusRequestTimeout, "RequestTimeoutError", ""},
}

// answer is an error as the Upload API words it.
type answer struct {
	status     int
	code, text string
	retryAfter int
}

// render words err from the tables.
func render(err error) answer {
	e := satchel.AsError(err)
	row, ok := errorRows[e.Reason]
	if !ok {
		row, ok = kindRows[e.Kind]
	}
	if !ok {
		row = kindRows[satchel.KindInternal]
	}
	a := answer{status: row.status, code: row.code, text: e.Message, retryAfter: e.RetryAfter}
	if row.message != "" {
		a.text = e.Fill(row.message)
	}
	var fe *fetch.Error
	if a.code == "" && errors.As(err, &fe) {
		// The fetcher words its refusals in Upload API terms already: they are
		// also what /from_url/status/ reports for a download that failed.
		a.code, a.text = fe.Code, fe.Message
	}
	return a
}

// paramRequired refuses a request without the form field name.
func paramRequired(name string) *satchel.Error {
	e := satchel.Errorf(satchel.KindInvalid, reasonParamRequired, "%s is required.", name)
	e.Field = name
	return e
}
