package suite

import "github.com/cucumber/godog"

// SetTestSteps adds step definitions to the runs of a test.
func SetTestSteps(f func(*godog.ScenarioContext)) { testSteps = f }
