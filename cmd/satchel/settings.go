package main

// The machinery behind the settings structs (serveConfig, the project
// commands): value parsing that reports every mistake at once, the generic
// checks their tags ask for, the warning about unknown SATCHEL_* variables and
// the README's configuration table.
//
// A setting is one struct field. Its tags say everything about it:
//
//	name:"max-file-size"          the flag
//	env:"SATCHEL_MAX_FILE_SIZE"   the environment variable
//	default:"24h"                 the default, as it would be typed; "${var}"
//	                              takes it from packageDefaults (a default
//	                              a package also applies to a zero option)
//	unset:"local disk"            what an empty value means (no default)
//	nonzero:""                    0 or empty is refused
//	oneof:"a,b,c"                 the value must be one of these (any case)
//	help:"…"                      the help line and the README's meaning
//	hidden:""                     not in help nor in the README
//
// The Go type picks the syntax: Size takes 10GB, 10GiB or bytes;
// time.Duration takes 600s, 10m, 1h30m (a bare number other than 0 is an
// error); int64 and float64 take non-negative numbers; bool takes
// true/false/1/0/yes/no; []netip.Prefix takes comma-separated CIDRs. An
// empty environment variable counts as unset.

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"
)

// Size is a number of bytes. It is written as a plain number of bytes or
// with a unit: decimal kB, MB, GB, TB (powers of 1000) or binary KiB, MiB,
// GiB, TiB (powers of 1024), any case, fractions allowed when the result is
// a whole number of bytes.
type Size int64

// sizeUnits maps lower-case units to their multiples.
var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

// parseSize reads a Size.
func parseSize(s string) (Size, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(t)
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	mult, ok := sizeUnits[strings.ToLower(unit)]
	if !ok && len(unit) == 1 && strings.ContainsRune("kmgtKMGT", rune(unit[0])) {
		return 0, fmt.Errorf("unit %q is ambiguous: write %s%sB (powers of 1000) or %s%siB (powers of 1024)", unit, num, strings.ToUpper(unit), num, strings.ToUpper(unit))
	}
	if !ok || num == "" {
		return 0, errors.New("want a size such as 100MB, 10GiB or a number of bytes")
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return 0, errors.New("want a size such as 100MB, 10GiB or a number of bytes")
	}
	r.Mul(r, new(big.Rat).SetInt64(mult))
	if !r.IsInt() {
		return 0, errors.New("not a whole number of bytes")
	}
	if !r.Num().IsInt64() {
		return 0, errors.New("too large")
	}
	return Size(r.Num().Int64()), nil
}

// String writes the size with the largest unit that keeps it exact.
func (s Size) String() string {
	if s == 0 {
		return "0"
	}
	for _, u := range []struct {
		name string
		n    int64
	}{{"TiB", 1 << 40}, {"TB", 1e12}, {"GiB", 1 << 30}, {"GB", 1e9}, {"MiB", 1 << 20}, {"MB", 1e6}, {"KiB", 1 << 10}, {"kB", 1e3}} {
		if int64(s)%u.n == 0 {
			return strconv.FormatInt(int64(s)/u.n, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// parseDuration reads a non-negative duration that carries its unit ("600s",
// "10m", "1h30m"). A bare number is refused: it is not clear whether it
// means seconds or something else; "0" alone is fine.
func parseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if t == "0" {
		return 0, nil
	}
	if _, err := strconv.ParseFloat(t, 64); err == nil {
		return 0, fmt.Errorf("a duration needs a unit: write %ss, %sm or %sh", t, t, t)
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, errors.New("want a duration such as 30s, 10m or 1h30m")
	}
	if d < 0 {
		return 0, errors.New("must not be negative")
	}
	return d, nil
}

// formatDuration writes d the way a person would type it ("24h", "10m", "30s").
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// parseCount reads a non-negative integer.
func parseCount(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, errors.New("want a whole number")
	}
	if n < 0 {
		return 0, errors.New("must not be negative")
	}
	return n, nil
}

// parseRate reads a non-negative, finite number.
func parseRate(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f != f || f > 1e300 {
		return 0, errors.New("want a number")
	}
	if f < 0 {
		return 0, errors.New("must not be negative")
	}
	return f, nil
}

// parseBool reads true/false, 1/0 or yes/no, in any case.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes":
		return true, nil
	case "false", "0", "no":
		return false, nil
	}
	return false, errors.New("want true or false")
}

// parsePrefixes reads a comma-separated list of CIDR networks.
func parsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, n := range strings.Split(list, ",") {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		pfx, err := netip.ParsePrefix(n)
		if err != nil {
			return nil, fmt.Errorf("%q is not a network such as 10.0.0.0/8", n)
		}
		out = append(out, pfx)
	}
	return out, nil
}

// decodeErrors holds the values that did not parse, by the address of their
// field, so that validation reports all of them at once rather than the
// first.
type decodeErrors map[uintptr]decodeResult

// decodeResult is the outcome of reading one setting.
type decodeResult struct {
	fromFlag bool  // a command-line flag, which wins over the environment
	err      error // nil when the value parsed
}

// record notes the outcome of decoding into target for the flag of ctx.
// The parser reads command-line flags into fresh values first, then the
// environment and defaults into the field itself: a flag's outcome stays.
func (e decodeErrors) record(ctx *kong.DecodeContext, target reflect.Value, s string, err error) {
	key := ctx.Value.Target.Addr().Pointer()
	fromFlag := isFlag(ctx, target)
	if prev, ok := e[key]; ok && prev.fromFlag && !fromFlag {
		return
	}
	if err != nil {
		err = fmt.Errorf("%q: %w", s, err)
	}
	e[key] = decodeResult{fromFlag: fromFlag, err: err}
}

// isFlag tells a value from the command line, which the parser reads into a
// fresh value, from one of the environment or the default, read into the
// field itself.
func isFlag(ctx *kong.DecodeContext, target reflect.Value) bool {
	return !target.CanAddr() || target.Addr().Pointer() != ctx.Value.Target.Addr().Pointer()
}

// err returns the error of the field at addr, if its value did not parse.
func (e decodeErrors) err(addr uintptr) error { return e[addr].err }

// mapper turns a parse function into a kong mapper that records failures in
// errs instead of stopping the parse.
func mapper[T any](errs decodeErrors, parse func(string) (T, error)) kong.MapperFunc {
	return func(ctx *kong.DecodeContext, target reflect.Value) error {
		var s string
		if err := ctx.Scan.PopValueInto("value", &s); err != nil {
			return err
		}
		if s == "" && !isFlag(ctx, target) {
			// An empty variable counts as unset.
			if !ctx.Value.HasDefault {
				errs.record(ctx, target, s, nil)
				target.Set(reflect.Zero(target.Type()))
				return nil
			}
			s = ctx.Value.Default
		}
		v, err := parse(s)
		errs.record(ctx, target, s, err)
		if err == nil {
			target.Set(reflect.ValueOf(v).Convert(target.Type()))
		}
		return nil
	}
}

// boolMapper reads a switch: alone it means true, or it takes a value.
type boolMapper struct{ errs decodeErrors }

// Decode implements kong.Mapper.
func (m boolMapper) Decode(ctx *kong.DecodeContext, target reflect.Value) error {
	if ctx.Scan.Peek().Type != kong.FlagValueToken {
		m.errs.record(ctx, target, "", nil)
		target.SetBool(true)
		return nil
	}
	t := ctx.Scan.Pop()
	s := fmt.Sprint(t.Value)
	if s == "" && !isFlag(ctx, target) {
		s = "false" // an empty variable counts as unset
	}
	b, err := parseBool(s)
	m.errs.record(ctx, target, s, err)
	if err == nil {
		target.SetBool(b)
	}
	return nil
}

// IsBool implements kong.BoolMapper.
func (boolMapper) IsBool() bool { return true }

// parserOptions are the kong options every satchel parser uses: the
// mappers above and the package defaults.
func parserOptions(errs decodeErrors) []kong.Option {
	return []kong.Option{
		kong.TypeMapper(reflect.TypeFor[Size](), mapper(errs, parseSize)),
		kong.TypeMapper(reflect.TypeFor[time.Duration](), mapper(errs, parseDuration)),
		kong.TypeMapper(reflect.TypeFor[[]netip.Prefix](), mapper(errs, parsePrefixes)),
		// An optional switch (*bool) is unset unless given, and then takes a
		// value: --autostore=false or --autostore false.
		kong.TypeMapper(reflect.TypeFor[*bool](), mapper(errs, func(s string) (*bool, error) {
			b, err := parseBool(s)
			return &b, err
		})),
		kong.KindMapper(reflect.Int64, mapper(errs, parseCount)),
		kong.KindMapper(reflect.String, mapper(errs, func(s string) (string, error) { return s, nil })),
		kong.KindMapper(reflect.Float64, mapper(errs, parseRate)),
		kong.KindMapper(reflect.Bool, boolMapper{errs}),
		packageDefaults(),
		kong.ValueFormatter(helpValue),
	}
}

// helpValue is a flag's help line: its text, then its variable and what an
// empty value means.
func helpValue(v *kong.Value) string {
	var extra []string
	if len(v.Tag.Envs) > 0 {
		extra = append(extra, "$"+strings.Join(v.Tag.Envs, ", $"))
	}
	if set := v.Tag.Get("oneof"); set != "" {
		extra = append(extra, "one of "+orList(strings.Split(set, ",")))
	}
	if u := v.Tag.Get("unset"); u != "" && !v.HasDefault {
		extra = append(extra, "empty: "+u)
	}
	if len(extra) == 0 {
		return v.Help
	}
	return v.Help + " (" + strings.Join(extra, "; ") + ")"
}

// settingFields calls fn for every setting field of the struct v points to,
// entering embedded structs.
func settingFields(v reflect.Value, fn func(f reflect.StructField, fv reflect.Value)) {
	for i := 0; i < v.NumField(); i++ {
		f, fv := v.Type().Field(i), v.Field(i)
		if _, isCmd := f.Tag.Lookup("cmd"); isCmd || f.Tag.Get("kong") == "-" {
			continue
		}
		if _, embed := f.Tag.Lookup("embed"); embed || f.Anonymous {
			settingFields(fv, fn)
			continue
		}
		if f.IsExported() {
			fn(f, fv)
		}
	}
}

// settingLabel names a setting in error messages: its flag and variable.
func settingLabel(f reflect.StructField) string {
	label := "--" + f.Tag.Get("name")
	if env := f.Tag.Get("env"); env != "" {
		label += " (" + env + ")"
	}
	return label
}

// settingsError lists every mistake in a command's settings, one a line.
type settingsError []error

func (e settingsError) Error() string {
	s := make([]string, len(e))
	for i, err := range e {
		s[i] = err.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap returns the mistakes.
func (e settingsError) Unwrap() []error { return e }

// validateSettings checks the settings of the struct v points to: the
// values that did not parse, the zeros that nonzero refuses and the choices
// outside oneof (matched in any case, then stored as listed), plus the
// mistakes in more. It reports every problem, as a settingsError.
func validateSettings(v any, decodeErrs decodeErrors, more ...error) error {
	var errs []error
	settingFields(reflect.ValueOf(v).Elem(), func(f reflect.StructField, fv reflect.Value) {
		label := settingLabel(f)
		if err := decodeErrs.err(fv.Addr().Pointer()); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", label, err))
			return
		}
		if _, ok := f.Tag.Lookup("nonzero"); ok && fv.IsZero() {
			if fv.Kind() == reflect.String {
				errs = append(errs, fmt.Errorf("%s: must not be empty", label))
			} else {
				errs = append(errs, fmt.Errorf("%s: must be more than 0", label))
			}
			return
		}
		if set := f.Tag.Get("oneof"); set != "" && fv.Kind() == reflect.String {
			choices := strings.Split(set, ",")
			i := slices.IndexFunc(choices, func(c string) bool { return strings.EqualFold(c, fv.String()) })
			if i < 0 {
				errs = append(errs, fmt.Errorf("%s: %q: want %s", label, fv.String(), orList(choices)))
				return
			}
			fv.SetString(choices[i])
		}
	})
	if errs = append(errs, more...); len(errs) == 0 {
		return nil
	}
	return settingsError(errs)
}

// orList writes "a, b or c".
func orList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// ignoredEnv are SATCHEL_* variables that are not settings of the binary:
// the test suites' and the benchmark scripts' own.
var ignoredEnv = []string{"SATCHEL_TEST_*", "SATCHEL_BIN", "SATCHEL_WORKERS", "SATCHEL_REV"}

// knownEnv lists the variables the flags of every command read.
func knownEnv(model *kong.Node) map[string]bool {
	known := map[string]bool{}
	_ = kong.Visit(model, func(n kong.Visitable, next kong.Next) error {
		if f, ok := n.(*kong.Flag); ok {
			for _, e := range f.Tag.Envs {
				known[e] = true
			}
		}
		return next(nil)
	})
	return known
}

// unknownEnv returns the SATCHEL_* variables in environ that no setting
// reads, in order, each with the known name it most likely misspells ("" if
// none is close).
func unknownEnv(model *kong.Node, environ []string) (names, near []string) {
	known := knownEnv(model)
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "SATCHEL_") || known[name] || slices.Contains(names, name) {
			continue
		}
		if slices.ContainsFunc(ignoredEnv, func(p string) bool {
			pre, wild := strings.CutSuffix(p, "*")
			return name == p || wild && strings.HasPrefix(name, pre)
		}) {
			continue
		}
		best, bestDist := "", 4 // farther than 3 edits is no suggestion
		for k := range known {
			if d := editDistance(name, k); d < bestDist || d == bestDist && k < best {
				best, bestDist = k, d
			}
		}
		names, near = append(names, name), append(near, best)
	}
	return names, near
}

// warnUnknownEnv logs one warning per unknown SATCHEL_* variable.
func warnUnknownEnv(log *slog.Logger, model *kong.Node, environ []string) {
	names, near := unknownEnv(model, environ)
	for i, name := range names {
		if near[i] != "" {
			log.Warn("unknown environment variable, ignored", "name", name, "did_you_mean", near[i])
		} else {
			log.Warn("unknown environment variable, ignored", "name", name)
		}
	}
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// writeConfigTable writes the Markdown table of the flags of node (the
// README's configuration section between its marker comments).
func writeConfigTable(w io.Writer, node *kong.Node) {
	fmt.Fprintln(w, "| flag | environment | default | meaning |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, f := range node.Flags {
		if f.Hidden {
			continue
		}
		def := f.Tag.Get("unset")
		switch {
		case f.HasDefault:
			def = "`" + f.Default + "`"
		case def == "" && f.IsBool():
			def = "off"
		case def == "":
			def = "none"
		}
		env := ""
		if len(f.Tag.Envs) > 0 {
			env = "`" + strings.Join(f.Tag.Envs, "`, `") + "`"
		}
		help := f.Help
		if set := f.Tag.Get("oneof"); set != "" {
			help += ": `" + strings.Join(strings.Split(set, ","), "`, `") + "`"
		}
		fmt.Fprintf(w, "| `--%s` | %s | %s | %s |\n", f.Name, env, def, strings.ReplaceAll(help, "|", `\|`))
	}
}
