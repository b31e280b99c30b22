package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"
	"github.com/stretchr/testify/assert"
	"github.com/tidwall/gjson"
)

// Response steps: checks on the last answer, in the tutorials' terms
// (status, fields, the body the tutorial prints, Azure's error body).
func registerResponse(sc *godog.ScenarioContext) {
	sc.Step(re(`^the response status is (\d+)$`), responseStatus)
	sc.Step(re(`^the response has these fields, each a JSON string:$`), responseStringFields)
	sc.Step(re(`^the response field "([^"]*)" is "([^"]*)"$`), responseFieldIs)
	sc.Step(re(`^the response field "([^"]*)" is (a GUID|a string of digits|an empty string|a JWT)$`), responseFieldKind)
	sc.Step(re(`^the response field "([^"]*)" echoes the requested resource$`), responseFieldEchoesResource)
	sc.Step(re(`^the response has no field "([^"]*)"$`), responseFieldAbsent)
	sc.Step(re(`^every field of the response is a JSON string$`), everyFieldString)
	sc.Step(re(`^the response field "([^"]*)" is the Azure id "([^"]*)"$`), responseFieldIsID)
	sc.Step(re(`^the token's lifetime, expires_on - not_before, is about (\d+) hours$`), tokenLifetimeHours)
	sc.Step(re(`^the token lifetime fields agree: not_before <= now < expires_on, and expires_in = expires_on - now$`), tokenTimesAgree)
	sc.Step(re(`^the response body has what the tutorial shows:$`), responseBodyHas)
	sc.Step(re(`^the error code is "([^"]*)"$`), errorCodeIs)
	sc.Step(re(`^the error message is "([^"]*)"$`), errorMessageIs)
	sc.Step(re(`^the error message is:$`), errorMessageIsDoc)
	sc.Step(re(`^the "([^"]*)" header starts with "([^"]*)"$`), headerStartsWith)
}

func (s *scenario) json() (gjson.Result, error) {
	if err := s.requireAnswer(); err != nil {
		return gjson.Result{}, err
	}
	if !gjson.ValidBytes(s.last.Body) {
		return gjson.Result{}, fmt.Errorf("the %d answer is not JSON: %.300s", s.last.Status, s.last.Body)
	}
	return gjson.ParseBytes(s.last.Body), nil
}

func responseStatus(ctx context.Context, want int) error {
	s := from(ctx)
	if err := s.requireAnswer(); err != nil {
		return err
	}
	if s.last.Status != want {
		return fmt.Errorf("%s %s answered %d, want %d; body: %.600s", s.last.Method, s.last.URL, s.last.Status, want, s.last.Body)
	}
	return nil
}

// responseStringFields checks names and JSON types: the tutorials' sample
// responses quote every value, and IMDS documents that all are strings.
func responseStringFields(ctx context.Context, table *godog.Table) error {
	j, err := from(ctx).json()
	if err != nil {
		return err
	}
	c := &check{}
	for _, row := range table.Rows {
		for _, cell := range row.Cells {
			f := j.Get(gjson.Escape(cell.Value))
			if assert.True(c, f.Exists(), "field %q is missing", cell.Value) {
				assert.Equal(c, gjson.String, f.Type, "field %q should be a JSON string, is %s", cell.Value, f.Raw)
			}
		}
	}
	return c.err()
}

func responseFieldIs(ctx context.Context, path, want string) error {
	s := from(ctx)
	j, err := s.json()
	if err != nil {
		return err
	}
	w, err := s.expand(want)
	if err != nil {
		return err
	}
	got := j.Get(path)
	if !got.Exists() {
		return fmt.Errorf("the response has no %q", path)
	}
	if got.String() != w {
		return fmt.Errorf("%q is %q, want %q", path, got.String(), w)
	}
	return nil
}

var (
	guidRE   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	digitsRE = regexp.MustCompile(`^[0-9]+$`)
	jwtRE    = regexp.MustCompile(`^eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$`)
)

func isGUID(s string) bool { return guidRE.MatchString(s) }

func responseFieldKind(ctx context.Context, path, kind string) error {
	j, err := from(ctx).json()
	if err != nil {
		return err
	}
	f := j.Get(path)
	if f.Type != gjson.String {
		return fmt.Errorf("%q should be a JSON string (%s), is %s", path, kind, f.Raw)
	}
	v := f.String()
	ok := map[string]bool{
		"a GUID": guidRE.MatchString(v), "a string of digits": digitsRE.MatchString(v),
		"an empty string": v == "", "a JWT": jwtRE.MatchString(v),
	}[kind]
	if !ok {
		return fmt.Errorf("%q is %q, not %s", path, v, kind)
	}
	return nil
}

// responseFieldAbsent checks that the JSON answer lacks a field, e.g. one a
// tutorial's sample shows and Azure no longer sends.
func responseFieldAbsent(ctx context.Context, path string) error {
	j, err := from(ctx).json()
	if err != nil {
		return err
	}
	if f := j.Get(path); f.Exists() {
		return fmt.Errorf("%q should be absent, is %s", path, f.Raw)
	}
	return nil
}

func responseFieldEchoesResource(ctx context.Context, path string) error {
	s := from(ctx)
	j, err := s.json()
	if err != nil {
		return err
	}
	if got := j.Get(path).String(); got != s.requested {
		return fmt.Errorf("%q is %q; the request asked for resource %q", path, got, s.requested)
	}
	return nil
}

// tokenTimesAgree checks the token response's times against each other and
// the clock, with a minute of tolerance for the round trip and clock skew.
func tokenTimesAgree(ctx context.Context) error {
	j, err := from(ctx).json()
	if err != nil {
		return err
	}
	num := func(f string) (int64, error) {
		n, err := strconv.ParseInt(j.Get(f).String(), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s %q is not a whole number", f, j.Get(f).String())
		}
		return n, nil
	}
	nbf, err1 := num("not_before")
	exp, err2 := num("expires_on")
	in, err3 := num("expires_in")
	if err := firstErr(err1, err2, err3); err != nil {
		return err
	}
	now := time.Now().Unix()
	const slack = 60
	c := &check{}
	assert.LessOrEqual(c, nbf, now+slack, "not_before is in the future")
	assert.Greater(c, exp, now, "expires_on is not in the future")
	assert.InDelta(c, exp-now, in, slack, "expires_in does not match expires_on - now")
	return c.err()
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// responseBodyHas compares the answer with the tutorial's sample output:
// every field the tutorial shows must be there with that value (placeholders
// filled in); fields Azure added since are allowed.
func responseBodyHas(ctx context.Context, doc *godog.DocString) error {
	s := from(ctx)
	j, err := s.json()
	if err != nil {
		return err
	}
	text, err := s.expand(doc.Content)
	if err != nil {
		return err
	}
	var want, got any
	if err := json.Unmarshal([]byte(text), &want); err != nil {
		return fmt.Errorf("the expected body in the feature is not JSON: %w", err)
	}
	_ = json.Unmarshal([]byte(j.Raw), &got)
	if diffs := subset(want, got, "$"); len(diffs) > 0 {
		return fmt.Errorf("the response differs from the tutorial's output:\n  %s\nresponse: %.1000s", strings.Join(diffs, "\n  "), j.Raw)
	}
	return nil
}

// subset lists where got lacks or differs from what want shows.
func subset(want, got any, path string) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want an object, got %s", path, show(got))}
		}
		var out []string
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s.%s: missing", path, k))
				continue
			}
			out = append(out, subset(wv, gv, path+"."+k)...)
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: want %d-element array, got %s", path, len(w), show(got))}
		}
		var out []string
		for i := range w {
			out = append(out, subset(w[i], g[i], fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	default:
		if fmt.Sprintf("%T:%v", want, want) != fmt.Sprintf("%T:%v", got, got) {
			return []string{fmt.Sprintf("%s: want %s, got %s", path, show(want), show(got))}
		}
		return nil
	}
}

func show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// errorCode reads Azure's error code: ARM's error.code, or OAuth's error
// string as IMDS and Entra send it.
func errorCode(j gjson.Result) string {
	if c := j.Get("error.code"); c.Exists() {
		return c.String()
	}
	return j.Get("error").String()
}

func errorMessage(j gjson.Result) string {
	if m := j.Get("error.message"); m.Exists() {
		return m.String()
	}
	return j.Get("error_description").String()
}

func errorCodeIs(ctx context.Context, want string) error {
	j, err := from(ctx).json()
	if err != nil {
		return err
	}
	if got := errorCode(j); got != want {
		return fmt.Errorf("error code is %q, want %q; body: %.600s", got, want, j.Raw)
	}
	return nil
}

func errorMessageIs(ctx context.Context, want string) error {
	s := from(ctx)
	j, err := s.json()
	if err != nil {
		return err
	}
	w, err := s.expand(want)
	if err != nil {
		return err
	}
	if got := errorMessage(j); got != w {
		return fmt.Errorf("error message is\n  %q\nwant\n  %q", got, w)
	}
	return nil
}

func errorMessageIsDoc(ctx context.Context, doc *godog.DocString) error {
	return errorMessageIs(ctx, strings.TrimSpace(doc.Content))
}

func headerStartsWith(ctx context.Context, name, prefix string) error {
	s := from(ctx)
	if err := s.requireAnswer(); err != nil {
		return err
	}
	p, err := s.expand(prefix)
	if err != nil {
		return err
	}
	if got := s.last.Header.Get(name); !strings.HasPrefix(got, p) {
		return fmt.Errorf("header %s is %q, want it to start with %q", name, got, p)
	}
	return nil
}

// responseFieldIsID compares a resource id as Azure compares ids: without
// regard to case (Microsoft.ManagedIdentity answers ".../resourcegroups/...").
func responseFieldIsID(ctx context.Context, path, want string) error {
	s := from(ctx)
	j, err := s.json()
	if err != nil {
		return err
	}
	w, err := s.expand(want)
	if err != nil {
		return err
	}
	if got := j.Get(path).String(); !strings.EqualFold(got, w) {
		return fmt.Errorf("%q is %q, want %q (compared without regard to case)", path, got, w)
	}
	return nil
}

// tokenLifetimeHours checks the token's lifetime as the token response
// states it. expires_in alone counts down while IMDS serves a cached token,
// so the lifetime is expires_on - not_before, allowed within an hour.
func tokenLifetimeHours(ctx context.Context, hours int) error {
	j, err := from(ctx).json()
	if err != nil {
		return err
	}
	on, err1 := strconv.ParseInt(j.Get("expires_on").String(), 10, 64)
	nbf, err2 := strconv.ParseInt(j.Get("not_before").String(), 10, 64)
	if err := firstErr(err1, err2); err != nil {
		return fmt.Errorf("expires_on %q or not_before %q is not a whole number", j.Get("expires_on").String(), j.Get("not_before").String())
	}
	life := time.Duration(on-nbf) * time.Second
	if want := time.Duration(hours) * time.Hour; life < want-time.Hour || life > want+time.Hour {
		return fmt.Errorf("the token lives %s (expires_on - not_before = %d s), not about %d hours", life, on-nbf, hours)
	}
	return nil
}

// everyFieldString is what deserialising the answer as a
// Dictionary<string,string> (the .NET sample's JavaScriptSerializer) needs:
// a flat object whose every value is a JSON string.
func everyFieldString(ctx context.Context) error {
	j, err := from(ctx).json()
	if err != nil {
		return err
	}
	if !j.IsObject() {
		return fmt.Errorf("the answer is not a JSON object: %.300s", j.Raw)
	}
	c := &check{}
	j.ForEach(func(k, v gjson.Result) bool {
		if v.Type != gjson.String {
			c.Errorf("field %q is %s, not a JSON string", k.String(), v.Raw)
		}
		return true
	})
	return c.err()
}
