package satchel

// The reasons the core gives its errors. Surfaces key their tables on them;
// a reason without a row is rendered by its kind.
const (
	// Requests.
	ReasonBodyTimeout        Reason = "body_timeout"        // the request body arrived too slowly
	ReasonThrottled          Reason = "throttled"           // the project's rate limit is spent
	ReasonServerBusy         Reason = "server_busy"         // the node's cap of uploads in progress is reached
	ReasonProjectBusy        Reason = "project_busy"        // the project's cap of uploads in progress is reached
	ReasonAnonymousThrottled Reason = "anonymous_throttled" // a client's anonymous uploads are over the project's rate
	ReasonStoreInvalid       Reason = "store_invalid"       // the store flag is not 0, 1 or auto
	ReasonFetchRefused       Reason = "fetch_refused"       // the source URL was refused (the cause is a *fetch.Error)
	ReasonSourceRequired     Reason = "source_required"     // no source URL
	ReasonTokenRequired      Reason = "token_required"      // no from-URL task token
	ReasonKeyRequired        Reason = "key_required"        // no public key (Field names the parameter)
	ReasonKeyInvalid         Reason = "key_invalid"         // unknown public key (Field names the parameter)
	ReasonSigRequired        Reason = "sig_required"        // a signed upload without its signature
	ReasonSigExpRequired     Reason = "sig_exp_required"    // a signed upload without its expiry
	ReasonSigExpInvalid      Reason = "sig_exp_invalid"     // an expiry that is not a UNIX time
	ReasonSigExpired         Reason = "sig_expired"         // a signature past its expiry
	ReasonSigInvalid         Reason = "sig_invalid"         // a signature that does not match

	// Files, metadata and tags.
	ReasonFileIDRequired     Reason = "file_id_required"
	ReasonFileIDInvalid      Reason = "file_id_invalid"
	ReasonFileNotFound       Reason = "file_not_found"
	ReasonFileTooLarge       Reason = "file_too_large"      // Limit: the project's maximum
	ReasonFileTypeForbidden  Reason = "file_type_forbidden" // the project refuses this MIME type
	ReasonFileNotReady       Reason = "file_not_ready"
	ReasonMetaKeyEmpty       Reason = "meta_key_empty"
	ReasonMetaKeyTooLong     Reason = "meta_key_too_long" // Limit
	ReasonMetaKeyForbidden   Reason = "meta_key_forbidden"
	ReasonMetaValueEmpty     Reason = "meta_value_empty"
	ReasonMetaValueTooLong   Reason = "meta_value_too_long" // Limit
	ReasonMetaValueForbidden Reason = "meta_value_forbidden"
	ReasonMetaTooManyKeys    Reason = "meta_too_many_keys" // Limit
	ReasonTagTooLong         Reason = "tag_too_long"       // Limit
	ReasonTagForbidden       Reason = "tag_forbidden"
	ReasonTooManyTags        Reason = "too_many_tags"  // Limit
	ReasonSearchTimeout      Reason = "search_timeout" // a search ran past SearchTimeout
	ReasonBatchEmpty         Reason = "batch_empty"
	ReasonBatchTooLarge      Reason = "batch_too_large"     // Limit
	ReasonCopyParamRequired  Reason = "copy_param_required" // Field: "source" or "target"
	ReasonCopySourceInvalid  Reason = "copy_source_invalid" // not a file UUID or CDN URL
	ReasonCopyOpsDisabled    Reason = "copy_ops_disabled"
	ReasonCopyTooLarge       Reason = "copy_too_large"
	ReasonCopyOpsInvalid     Reason = "copy_ops_invalid"    // Value: why
	ReasonCopyTargetUnknown  Reason = "copy_target_unknown" // no storage of that name
	ReasonCopyPatternToken   Reason = "copy_pattern_token"  // Value: the unknown token
	ReasonCopyPatternInvalid Reason = "copy_pattern_invalid"

	// Multipart uploads.
	ReasonMultipartTooSmall  Reason = "multipart_too_small" // Limit: the smallest multipart size
	ReasonMultipartTooLarge  Reason = "multipart_too_large"
	ReasonPartSizeTooSmall   Reason = "part_size_too_small" // Limit
	ReasonPartSizeTooBig     Reason = "part_size_too_big"   // Limit
	ReasonTooManyParts       Reason = "too_many_parts"
	ReasonChunkSizeInvalid   Reason = "chunk_size_invalid" // Field: "size" or "chunk_size"
	ReasonExpiresInvalid     Reason = "expires_invalid"    // not an ISO 8601 time
	ReasonPartURLInvalid     Reason = "part_url_invalid"
	ReasonPartSizeMismatch   Reason = "part_size_mismatch"
	ReasonPartConflict       Reason = "part_conflict"
	ReasonUploadIDRequired   Reason = "upload_id_required"
	ReasonUploadIDInvalid    Reason = "upload_id_invalid"
	ReasonUploadNotFound     Reason = "upload_not_found"
	ReasonUploadDone         Reason = "upload_done" // already completed
	ReasonUploadIncomplete   Reason = "upload_incomplete"
	ReasonUploadSizeMismatch Reason = "upload_size_mismatch"
	ReasonUploadOverExpected Reason = "upload_over_expected"

	// Groups.
	ReasonGroupFilesRequired Reason = "group_files_required"
	ReasonGroupTooManyFiles  Reason = "group_too_many_files"
	ReasonGroupFileInvalid   Reason = "group_file_invalid" // Value: the entry
	ReasonGroupFilesNotFound Reason = "group_files_not_found"
	ReasonGroupIDRequired    Reason = "group_id_required"
	ReasonGroupNotFound      Reason = "group_not_found"

	// Webhooks.
	ReasonWebhooksDisabled      Reason = "webhooks_disabled"
	ReasonWebhookFieldMissing   Reason = "webhook_field_missing" // Field
	ReasonWebhookTargetInvalid  Reason = "webhook_target_invalid"
	ReasonWebhookEventInvalid   Reason = "webhook_event_invalid"   // Value
	ReasonWebhookSecretTooLong  Reason = "webhook_secret_too_long" // Limit
	ReasonWebhookVersionInvalid Reason = "webhook_version_invalid"
	ReasonWebhookVersionEvent   Reason = "webhook_version_event" // 0.6 payloads only for file.uploaded
	ReasonWebhookNotUnique      Reason = "webhook_not_unique"
	ReasonWebhookNotFound       Reason = "webhook_not_found" // Value: the ID

	// Project settings and delivery log (the dashboard).
	ReasonProjectSettingInvalid Reason = "project_setting_invalid"
	ReasonDeliveryBusy          Reason = "delivery_busy"      // a delivery still pending or changed meanwhile
	ReasonDeliveryNotFound      Reason = "delivery_not_found" // Value: the ID

	// The dashboard's own requests.
	ReasonSessionEnded Reason = "session_ended"
	ReasonFormInvalid  Reason = "form_invalid"
	ReasonFormForged   Reason = "form_forged"
	ReasonSigninLimit  Reason = "signin_limit" // too many failed sign-ins from the address; RetryAfter
	ReasonPageNotFound Reason = "page_not_found"

	// Conversions.
	ReasonConversionDisabled Reason = "conversion_disabled" // the project has conversion off
	ReasonConversionNotFound Reason = "conversion_not_found"

	// Add-ons.
	ReasonAddonNotFound       Reason = "addon_not_found"
	ReasonAddonNotConfigured  Reason = "addon_not_configured"
	ReasonAddonRunning        Reason = "addon_running" // the same add-on is running on the file
	ReasonAddonRequestInvalid Reason = "addon_request_invalid"
)
