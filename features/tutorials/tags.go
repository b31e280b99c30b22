package tutorials

import (
	"fmt"
	"strings"
)

// How a scenario binds to the articles, by tag:
//
//	@verbatim:<article>:<block-id>           the block's text runs as the article has it
//	@restated:<article>:<block-id>           the same request or semantics, restated in steps
//	@claim:<claim-id>                        the scenario shows the claim holds
//	@claim:<claim-id>:doc-discrepancy        the scenario shows Azure differs from the claim
//
// Block ids contain "/" and "#", which Gherkin keeps in a tag (a "#"
// starts a comment only after white space).
const (
	Verbatim       = "verbatim"
	Restated       = "restated"
	Holds          = "holds"
	DocDiscrepancy = "doc-discrepancy"
)

// Binding is one binding tag.
type Binding struct {
	// How is Verbatim or Restated for a block, Holds or DocDiscrepancy for
	// a claim.
	How string
	// Ref is the block's "article:block-id" or the claim's id.
	Ref string
}

// IsBlock reports whether the binding names a block (rather than a claim).
func (b Binding) IsBlock() bool { return b.How == Verbatim || b.How == Restated }

// Tag is the binding written as a tag.
func (b Binding) Tag() string {
	switch b.How {
	case Holds:
		return "@claim:" + b.Ref
	case DocDiscrepancy:
		return "@claim:" + b.Ref + ":" + DocDiscrepancy
	}
	return "@" + b.How + ":" + b.Ref
}

// ParseTag reads a binding tag. ok is false for a tag that is no binding
// (e.g. "@tutorial:rm-system-identity"); err is set for a binding tag that
// is malformed.
func ParseTag(tag string) (b Binding, ok bool, err error) {
	t := strings.TrimPrefix(tag, "@")
	kind, rest, found := strings.Cut(t, ":")
	if !found {
		return Binding{}, false, nil
	}
	switch kind {
	case Verbatim, Restated:
		article, id, found := strings.Cut(rest, ":")
		if !found || article == "" || id == "" || strings.Contains(id, ":") {
			return Binding{}, true, fmt.Errorf("tag %s: want @%s:<article>:<block-id>", tag, kind)
		}
		return Binding{How: kind, Ref: rest}, true, nil
	case "claim":
		id, suffix, two := strings.Cut(rest, ":")
		switch {
		case id == "":
			return Binding{}, true, fmt.Errorf("tag %s: want @claim:<claim-id> or @claim:<claim-id>:doc-discrepancy", tag)
		case !two:
			return Binding{How: Holds, Ref: id}, true, nil
		case suffix == DocDiscrepancy:
			return Binding{How: DocDiscrepancy, Ref: id}, true, nil
		}
		return Binding{}, true, fmt.Errorf("tag %s: the only suffix of @claim:<id> is :%s", tag, DocDiscrepancy)
	}
	return Binding{}, false, nil
}
