package restapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/apiview"
)

// Search request bounds beyond satchel's.
const (
	searchDefaultLimit = 20
	searchMaxLimit     = 100
	// searchMaxTextLen bounds a query or phrase, searchMaxValues each list
	// of values, so one request's SQL stays small.
	searchMaxTextLen = 256
	searchMaxValues  = 100
)

// fieldErrors are validation errors keyed by field, as POST /files/search/
// answers them: a field maps to its messages, or to the errors of its own
// fields; "non_field_errors" holds the complaints about a level as a whole.
type fieldErrors map[string]any

func (e fieldErrors) add(field, msg string) {
	if prev, ok := e[field].([]string); ok {
		e[field] = append(prev, msg)
		return
	}
	e[field] = []string{msg}
}

// sub is the nested errors of field, made on first use.
func (e fieldErrors) sub(field string) fieldErrors {
	if s, ok := e[field].(fieldErrors); ok {
		return s
	}
	s := fieldErrors{}
	e[field] = s
	return s
}

// prune drops nested levels that got no error.
func (e fieldErrors) prune() {
	for k, v := range e {
		if s, ok := v.(fieldErrors); ok {
			if s.prune(); len(s) == 0 {
				delete(e, k)
			}
		}
	}
}

const nonField = "non_field_errors"

// searchFiles serves POST /files/search/ (v0.7).
func (h *Handler) searchFiles(r *request) error {
	errs := fieldErrors{}
	q := parseSearchBody(r.body, errs)
	parseSearchPage(r.URL.Query(), &q, errs)
	if errs.prune(); len(errs) > 0 {
		return r.reply(http.StatusBadRequest, errs)
	}
	files, total, err := h.app.SearchFiles(r.Context(), r.project, q)
	if err != nil {
		return err
	}
	results := apiview.FilesWith(files, r.version, r.bases, fileOptions(r), "highlight", func(f *satchel.File) any {
		if hl := q.Highlight(f); hl != nil {
			return hl
		}
		return nil
	})
	next, prev := searchLinks(r, q, total)
	return r.reply(http.StatusOK, apiview.Object(
		"next", next, "previous", prev, "total", total, "per_page", q.Limit, "results", results,
	))
}

// searchLinks are the URLs of the neighbouring pages: the request's query
// with offset (and, near the window's end, limit) changed.
func searchLinks(r *request, q satchel.FileSearch, total int64) (next, prev *string) {
	link := func(offset, limit int) *string {
		v := r.URL.Query()
		v.Set("offset", strconv.Itoa(offset))
		v.Set("limit", strconv.Itoa(limit))
		s := r.bases.API + "/files/search/?" + v.Encode()
		return &s
	}
	end := q.Offset + q.Limit
	if int64(end) < total && end < satchel.SearchMaxWindow {
		next = link(end, min(q.Limit, satchel.SearchMaxWindow-end))
	}
	if q.Offset > 0 {
		prev = link(max(q.Offset-q.Limit, 0), q.Limit)
	}
	return next, prev
}

// parseSearchPage reads limit, offset and include from the query string.
func parseSearchPage(v url.Values, q *satchel.FileSearch, errs fieldErrors) {
	q.Limit = searchDefaultLimit
	if s := v.Get("limit"); s != "" {
		n, ok := intParam(s, 1, searchMaxLimit, "limit", errs)
		if ok {
			q.Limit = n
		}
	}
	if s := v.Get("offset"); s != "" {
		n, ok := intParam(s, 0, satchel.SearchMaxWindow, "offset", errs)
		if ok {
			q.Offset = n
		}
	}
	if errs["limit"] == nil && errs["offset"] == nil && q.Offset+q.Limit > satchel.SearchMaxWindow {
		errs.add("offset", fmt.Sprintf("offset + limit must not exceed %d.", satchel.SearchMaxWindow))
	}
	if s := v.Get("include"); s != "" && s != "appdata" {
		errs.add("include", `The only supported value is "appdata".`)
	}
}

func intParam(s string, lo, hi int, field string, errs fieldErrors) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	switch {
	case err != nil:
		errs.add(field, "A valid integer is required.")
	case n < lo:
		errs.add(field, fmt.Sprintf("Ensure this value is greater than or equal to %d.", lo))
	case n > hi:
		errs.add(field, fmt.Sprintf("Ensure this value is less than or equal to %d.", hi))
	default:
		return n, true
	}
	return 0, false
}

// searchConditions are the body's keys of which at least one is required.
var searchConditions = []string{"query", "phrase", "exact", "datetime_uploaded", "size", "is_image", "tags"}

// parseSearchBody reads the JSON body of a search into q, recording what
// is wrong in errs.
func parseSearchBody(body []byte, errs fieldErrors) satchel.FileSearch {
	var q satchel.FileSearch
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(bytes.TrimSpace(body), &fields); err != nil || fields == nil {
		errs.add(nonField, "The body must be a JSON object.")
		return q
	}
	conditions := 0
	for k, raw := range fields {
		if slices.Contains(searchConditions, k) && !isNull(raw) {
			conditions++
		}
		switch k {
		case "query":
			if s, ok := textField(raw, "query", errs); ok {
				q.Query = queryTerms(s)
			}
		case "phrase":
			parsePhrase(raw, &q, errs)
		case "exact":
			parseExact(raw, &q, errs)
		case "datetime_uploaded":
			q.Uploaded = parseRange(raw, "datetime_uploaded", errs, parseSearchTime)
		case "size":
			q.Size = parseRange(raw, "size", errs, parseSize)
		case "is_image":
			if b, ok := boolField(raw, "is_image", errs); ok {
				q.IsImage = &b
			}
		case "fuzziness":
			q.Fuzzy, _ = boolField(raw, "fuzziness", errs)
		case "tags":
			parseTags(raw, &q, errs)
		case "sort":
			q.Sort = parseSort(raw, errs)
		default:
			errs.add(k, "Unknown field.")
		}
	}
	if conditions == 0 {
		errs.add(nonField, "At least one search condition is required: "+strings.Join(searchConditions, ", ")+".")
	}
	if q.PhraseFilename != "" && q.ExactFilename != nil {
		errs.sub("exact").add("original_filename", "Cannot be used together with phrase.original_filename.")
	}
	if q.PhraseMimeType != "" && q.ExactMimeType != nil {
		errs.sub("exact").add("detected_mime_type", "Cannot be used together with phrase.detected_mime_type.")
	}
	if q.PhraseMetadata != "" && len(q.ExactMetadata) > 0 {
		errs.sub("exact").add("metadata", "Cannot be used together with phrase.metadata.")
	}
	return q
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// queryTerms splits a query into its terms; a term shorter than the
// minimum cannot match and is dropped (the query as a whole was checked).
func queryTerms(s string) []string {
	var terms []string
	for _, t := range strings.Fields(s) {
		if utf8.RuneCountInString(t) >= satchel.SearchMinTermLen && !slices.Contains(terms, t) {
			terms = append(terms, t)
		}
	}
	if len(terms) == 0 {
		// Every word is short ("ab cd"): the query is matched as a whole.
		terms = []string{strings.TrimSpace(s)}
	}
	return terms
}

// textField reads a full-text value: a string of SearchMinTermLen to
// searchMaxTextLen characters.
func textField(raw json.RawMessage, field string, errs fieldErrors) (string, bool) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		errs.add(field, "Not a valid string.")
		return "", false
	}
	n := utf8.RuneCountInString(strings.TrimSpace(s))
	switch {
	case n < satchel.SearchMinTermLen:
		errs.add(field, fmt.Sprintf("Must be at least %d characters.", satchel.SearchMinTermLen))
	case n > searchMaxTextLen:
		errs.add(field, fmt.Sprintf("Must be at most %d characters.", searchMaxTextLen))
	default:
		return strings.TrimSpace(s), true
	}
	return "", false
}

func boolField(raw json.RawMessage, field string, errs fieldErrors) (bool, bool) {
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		errs.add(field, "Must be a valid boolean.")
		return false, false
	}
	return b, true
}

// object reads a JSON object's members, or records that it is not one.
func object(raw json.RawMessage, field string, errs fieldErrors) (map[string]json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		errs.add(field, "Must be a JSON object.")
		return nil, false
	}
	if len(m) == 0 {
		errs.sub(field).add(nonField, "At least one field is required.")
		return nil, false
	}
	return m, true
}

// members reads an object whose keys each fill one destination, parsing
// every value with parse; a key without one is refused with unknown.
func members[T any](raw json.RawMessage, field string, errs fieldErrors, dsts map[string]*T, unknown string, parse func(json.RawMessage, string, fieldErrors) (T, bool)) {
	m, ok := object(raw, field, errs)
	if !ok {
		return
	}
	sub := errs.sub(field)
	for k, v := range m {
		dst, ok := dsts[k]
		if !ok {
			sub.add(k, unknown)
			continue
		}
		if val, ok := parse(v, k, sub); ok {
			*dst = val
		}
	}
}

func parsePhrase(raw json.RawMessage, q *satchel.FileSearch, errs fieldErrors) {
	members(raw, "phrase", errs, map[string]*string{
		"original_filename": &q.PhraseFilename, "detected_mime_type": &q.PhraseMimeType, "metadata": &q.PhraseMetadata,
	}, "Unknown field.", textField)
}

func parseExact(raw json.RawMessage, q *satchel.FileSearch, errs fieldErrors) {
	m, ok := object(raw, "exact", errs)
	if !ok {
		return
	}
	sub := errs.sub("exact")
	for k, v := range m {
		values, ok := stringList(v, k, sub)
		if !ok {
			continue
		}
		switch {
		case k == "uuid":
			q.ExactUUID = lowerAll(values)
		case k == "detected_mime_type":
			q.ExactMimeType = values
		case k == "original_filename":
			q.ExactFilename = values
		case strings.HasPrefix(k, "metadata[") && strings.HasSuffix(k, "]") && len(k) > len("metadata[]"):
			if q.ExactMetadata == nil {
				q.ExactMetadata = map[string][]string{}
			}
			q.ExactMetadata[k[len("metadata["):len(k)-1]] = values
		default:
			sub.add(k, "Unknown field. Use uuid, detected_mime_type, original_filename or metadata[key].")
		}
	}
}

// stringList reads a non-empty list of at most searchMaxValues strings.
func stringList(raw json.RawMessage, field string, errs fieldErrors) ([]string, bool) {
	var values []string
	if err := json.Unmarshal(raw, &values); err != nil || values == nil {
		errs.add(field, "Must be a list of strings.")
		return nil, false
	}
	switch {
	case len(values) == 0:
		errs.add(field, "This list may not be empty.")
	case len(values) > searchMaxValues:
		errs.add(field, fmt.Sprintf("Ensure this field has no more than %d elements.", searchMaxValues))
	default:
		return values, true
	}
	return nil, false
}

func lowerAll(values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = strings.ToLower(strings.TrimSpace(v))
	}
	return out
}

// parseTags reads the tag lists, lowercased and trimmed as tags are kept.
func parseTags(raw json.RawMessage, q *satchel.FileSearch, errs fieldErrors) {
	members(raw, "tags", errs, map[string]*[]string{"any": &q.TagsAny, "all": &q.TagsAll, "none": &q.TagsNone},
		"Unknown field. Use any, all or none.", func(v json.RawMessage, k string, sub fieldErrors) ([]string, bool) {
			values, ok := stringList(v, k, sub)
			return lowerAll(values), ok
		})
}

// parseRange reads {"gt", "gte", "lt", "lte"} bounds, at least one.
func parseRange[T any](raw json.RawMessage, field string, errs fieldErrors, parse func(json.RawMessage) (T, string)) satchel.Range[T] {
	var r satchel.Range[T]
	members(raw, field, errs, map[string]**T{"gt": &r.Gt, "gte": &r.Gte, "lt": &r.Lt, "lte": &r.Lte},
		"Unknown operator. Use gt, gte, lt or lte.", func(v json.RawMessage, k string, sub fieldErrors) (*T, bool) {
			val, msg := parse(v)
			if msg != "" {
				sub.add(k, msg)
				return nil, false
			}
			return &val, true
		})
	return r
}

func parseSearchTime(raw json.RawMessage) (time.Time, string) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if t, ok := parseCursorTime(s); ok {
			return t, ""
		}
	}
	return time.Time{}, "Datetime has wrong format. Use ISO 8601 (YYYY-MM-DDThh:mm:ss[.uuuuuu]Z)."
}

func parseSize(raw json.RawMessage) (int64, string) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		s = string(raw)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, "A valid integer is required."
	}
	return n, ""
}

// searchSortKeys are the sort tokens the API takes.
var searchSortKeys = []satchel.SearchSortKey{satchel.SortScore, satchel.SortDatetimeUploaded, satchel.SortSize, satchel.SortOriginalFilename}

func parseSort(raw json.RawMessage, errs fieldErrors) []satchel.SearchSort {
	var tokens []string
	if err := json.Unmarshal(raw, &tokens); err != nil || tokens == nil {
		errs.add("sort", "Must be a list of sort keys.")
		return nil
	}
	switch {
	case len(tokens) == 0:
		errs.add("sort", "This list may not be empty.")
		return nil
	case len(tokens) > satchel.SearchMaxSortKeys:
		errs.add("sort", fmt.Sprintf("Ensure this field has no more than %d elements.", satchel.SearchMaxSortKeys))
		return nil
	}
	var out []satchel.SearchSort
	for _, t := range tokens {
		key := satchel.SearchSortKey(strings.TrimPrefix(t, "-"))
		switch {
		case !slices.Contains(searchSortKeys, key):
			errs.add("sort", fmt.Sprintf("Unknown sort key %q. Use score, datetime_uploaded, size or original_filename, with - for descending.", t))
		case slices.ContainsFunc(out, func(s satchel.SearchSort) bool { return s.Key == key }):
			errs.add("sort", fmt.Sprintf("Sort key %q is given more than once.", key))
		default:
			out = append(out, satchel.SearchSort{Key: key, Desc: strings.HasPrefix(t, "-")})
		}
	}
	return out
}
