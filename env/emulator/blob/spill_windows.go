package blob

import "math"

// spillThreshold: on Windows no blob spills (spill.go says why).
const spillThreshold = math.MaxInt32
