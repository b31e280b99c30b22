package tutorials

import (
	"github.com/miconform/miconform/env/wine/winetest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const coverFeature = `@tutorial:rm-system-identity @restated:windows-vm-access:get-an-access-token/json#1
Feature: RM

  @verbatim:windows-vm-access:get-an-access-token/bash#1 @claim:001-RMS-04
  Scenario: token
    Given nothing

  @restated:windows-vm-access:get-an-access-token/bash#1 @claim:001-RMS-07:doc-discrepancy
  Scenario Outline: twice
    Given <x>

    Examples:
      | x |
      | a |
      | b |

  @verbatim:windows-vm-access:nosuch/bash#1 @claim:001-XYZ-1 @claim:001-RMS-05:holds
  Scenario: typos
    Given nothing
`

func TestCover(t *testing.T) {
	dir := winetest.TempDir(t)
	file := filepath.Join(dir, "rm.feature")
	require.NoError(t, os.WriteFile(file, []byte(coverFeature), 0o644))
	bound, err := ScanFeatures(dir)
	require.NoError(t, err)
	// One scenario, two example rows, one scenario.
	require.Len(t, bound, 4)
	assert.Equal(t, []int{5, 14, 15, 18}, []int{bound[0].Line, bound[1].Line, bound[2].Line, bound[3].Line})
	assert.Contains(t, bound[1].Tags, "@tutorial:rm-system-identity")

	s := mustEmbedded(t)
	c := Cover(s, bound)
	var rms *ArticleCoverage
	for _, a := range c.Articles {
		if a.Name == "windows-vm-access" {
			rms = a
		}
	}
	require.NotNil(t, rms)
	byInv := map[string]*BlockCoverage{}
	for _, b := range rms.Blocks {
		byInv[strings.Join(b.Inventory, ",")] = b
	}
	assert.Equal(t, Verbatim, byInv["001-RMS-CB1"].Status())
	assert.Len(t, byInv["001-RMS-CB1"].Uses, 3, "verbatim once, restated by two example rows")
	assert.Equal(t, Restated, byInv["001-RMS-CB2"].Status(), "a feature tag binds every scenario")
	assert.Equal(t, "", byInv["001-RMS-CB3"].Status())
	assert.Equal(t, "", byInv["001-RMU-CB1"].Status())
	assert.Contains(t, byInv["001-RMU-CB1"].NotChecked(), "operator")

	claims := map[string]*ClaimCoverage{}
	for _, cl := range rms.Claims {
		claims[cl.Claim.ID] = cl
	}
	assert.Equal(t, Holds, claims["001-RMS-04"].Status())
	assert.Equal(t, DocDiscrepancy, claims["001-RMS-07"].Status())
	assert.Equal(t, "", claims["001-SAS-22"].Status())

	require.Len(t, c.Problems, 3, "%q", c.Problems)
	assert.Contains(t, c.Problems[0], file+":17")

	c.Record(func(f string, line int) string {
		if line == 5 {
			return RunFailed
		}
		return RunPassed
	})
	n := rms.Counts()
	assert.Equal(t, 1, n.Verbatim)
	assert.Equal(t, 1, n.Restated)
	assert.Equal(t, 43-2, n.BlocksNotChecked)
	assert.Equal(t, 1, n.Holds)
	assert.Equal(t, 1, n.Failed, "001-RMS-04 is bound only by the failed scenario")

	table := c.Table()
	assert.Contains(t, table, "windows-vm-access")
	assert.Contains(t, table, "001-RMU-CB1  block windows-vm-access:")
	assert.Contains(t, table, "001-SAS-22  claim (not checkable): no such cmdlet")
	assert.Contains(t, table, "nosuch/bash#1")
	md := c.Markdown()
	assert.Contains(t, md, "| **total** |")
	assert.Contains(t, md, "001-SAS-22")
	props := c.Properties()
	assert.Equal(t, "1", props["coverage.windows-vm-access.blocks.verbatim"])
	assert.Equal(t, "56", props["coverage.blocks"])
	listing := c.Listing()
	assert.Contains(t, listing, "verbatim by "+file+":5 (failed)")
}
