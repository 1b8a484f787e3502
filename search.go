package satchel

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Search limits, as Uploadcare's file search has them.
const (
	// SearchMinTermLen is the shortest full-text value (query, phrase).
	SearchMinTermLen = 4
	// SearchMaxWindow bounds offset+limit: no search pages past it.
	SearchMaxWindow = 1000
	// SearchMaxSortKeys is the most sort keys a search takes.
	SearchMaxSortKeys = 4
	// SearchTotalCap is the most matches a search counts: a larger total
	// is reported as this (the full count would read every match).
	SearchTotalCap = 10000
	// SearchTimeout bounds the time one search may spend in the database.
	SearchTimeout = 5 * time.Second
)

// SearchSortKey names what a search can order by.
type SearchSortKey string

// Search sort keys.
const (
	SortScore            SearchSortKey = "score"
	SortDatetimeUploaded SearchSortKey = "datetime_uploaded"
	SortSize             SearchSortKey = "size"
	SortOriginalFilename SearchSortKey = "original_filename"
)

// SearchSort is one sort key of a search and its direction.
type SearchSort struct {
	Key  SearchSortKey
	Desc bool
}

// Range bounds a value; nil bounds are absent.
type Range[T any] struct {
	Gt, Gte, Lt, Lte *T
}

// FileSearch selects a project's live files by conditions, all of which a
// file must meet (AND). Full-text matching (Query, Phrase*) is a
// case-insensitive substring match (a term matches anywhere inside a word);
// see SearchMatch.
type FileSearch struct {
	ProjectID int64
	// Query's terms (split on white space, each at least
	// SearchMinTermLen characters) must each occur in the original
	// filename, the detected MIME type or a metadata value, or equal the
	// file's UUID.
	Query []string
	// Phrase* must occur, as a whole, in that field (PhraseMetadata: in
	// any metadata value).
	PhraseFilename, PhraseMimeType, PhraseMetadata string
	// Exact* match a field that equals one of the values (nil: no
	// condition); ExactMetadata per key.
	ExactUUID, ExactMimeType, ExactFilename []string
	ExactMetadata                           map[string][]string
	Uploaded                                Range[time.Time]
	Size                                    Range[int64]
	IsImage                                 *bool
	// TagsAny: at least one of them; TagsAll: every one; TagsNone: none.
	TagsAny, TagsAll, TagsNone []string
	// Fuzzy lets a full-text term match with one character substituted
	// (terms of 5 characters or more).
	Fuzzy bool
	// Sort orders the matches; empty means by score (full-text searches)
	// and newest first. The UUID always breaks ties, so pages are stable.
	Sort   []SearchSort
	Limit  int
	Offset int
}

// FullText reports whether the search has full-text conditions.
func (q *FileSearch) FullText() bool {
	return len(q.Query) > 0 || q.PhraseFilename != "" || q.PhraseMimeType != "" || q.PhraseMetadata != ""
}

// SearchFuzzyMinLen is the shortest term that fuzziness applies to.
const SearchFuzzyMinLen = 5

// SearchPatterns are the LIKE patterns (lowercase, with \ as the escape
// character) a full-text term matches: the term anywhere, and with fuzzy,
// the term with any one character replaced by a wildcard.
func SearchPatterns(term string, fuzzy bool) []string {
	term = strings.ToLower(term)
	out := []string{"%" + likeEscape(term) + "%"}
	if !fuzzy || utf8.RuneCountInString(term) < SearchFuzzyMinLen {
		return out
	}
	rs := []rune(term)
	for i := range rs {
		out = append(out, "%"+likeEscape(string(rs[:i]))+"_"+likeEscape(string(rs[i+1:]))+"%")
	}
	return out
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// SearchMatch finds term in s as SearchPatterns does (case-insensitively,
// with fuzzy: one character may differ) and returns s with every match
// wrapped in <em>…</em>, and whether there was one.
func SearchMatch(s, term string, fuzzy bool) (string, bool) {
	ls, lt := []rune(strings.ToLower(s)), []rune(strings.ToLower(term))
	orig := []rune(s)
	if len(lt) == 0 || len(ls) != len(orig) {
		// Lowercasing changed the length: fall back to no highlight.
		return s, false
	}
	allowed := 0
	if fuzzy && len(lt) >= SearchFuzzyMinLen {
		allowed = 1
	}
	var b strings.Builder
	found, last := false, 0
	for i := 0; i+len(lt) <= len(ls); {
		diff := 0
		for j := range lt {
			if ls[i+j] != lt[j] {
				if diff++; diff > allowed {
					break
				}
			}
		}
		if diff > allowed {
			i++
			continue
		}
		found = true
		b.WriteString(string(orig[last:i]))
		b.WriteString("<em>" + string(orig[i:i+len(lt)]) + "</em>")
		i += len(lt)
		last = i
	}
	if !found {
		return s, false
	}
	b.WriteString(string(orig[last:]))
	return b.String(), true
}

// SearchHighlight is what a file's full-text match was found in, with the
// matched parts wrapped in <em>: per field a list of highlighted values,
// and per metadata key its highlighted value.
type SearchHighlight struct {
	OriginalFilename []string          `json:"original_filename,omitempty"`
	DetectedMimeType []string          `json:"detected_mime_type,omitempty"`
	Metadata         map[string]string `json:"metadata,omitempty"`
}

// Highlight returns where the search's full-text conditions match f, or
// nil when it has none or they match nowhere but the UUID.
func (q *FileSearch) Highlight(f *File) *SearchHighlight {
	if !q.FullText() {
		return nil
	}
	h := &SearchHighlight{}
	mark := func(value string, terms []string) (string, bool) {
		hit := false
		for _, t := range terms {
			var ok bool
			if value, ok = SearchMatch(value, t, q.Fuzzy); ok {
				hit = true
			}
		}
		return value, hit
	}
	nameTerms := append(append([]string{}, q.Query...), nonEmpty(q.PhraseFilename)...)
	if v, ok := mark(f.OriginalFilename, nameTerms); ok {
		h.OriginalFilename = []string{v}
	}
	mimeTerms := append(append([]string{}, q.Query...), nonEmpty(q.PhraseMimeType)...)
	if v, ok := mark(f.MimeType, mimeTerms); ok {
		h.DetectedMimeType = []string{v}
	}
	metaTerms := append(append([]string{}, q.Query...), nonEmpty(q.PhraseMetadata)...)
	for k, val := range f.Metadata {
		if v, ok := mark(val, metaTerms); ok {
			if h.Metadata == nil {
				h.Metadata = map[string]string{}
			}
			h.Metadata[k] = v
		}
	}
	if h.OriginalFilename == nil && h.DetectedMimeType == nil && h.Metadata == nil {
		return nil
	}
	return h
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}
