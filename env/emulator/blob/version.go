package blob

import "regexp"

// Storage service versions (x-ms-version, sv).
// https://learn.microsoft.com/rest/api/storageservices/previous-azure-storage-service-versions
var serviceVersions = map[string]bool{
	"2009-09-19": true, "2011-08-18": true, "2012-02-12": true, "2013-08-15": true, "2014-02-14": true,
	"2015-02-21": true, "2015-04-05": true, "2015-07-08": true, "2015-12-11": true, "2016-05-31": true,
	"2017-04-17": true, "2017-07-29": true, "2017-11-09": true, "2018-03-28": true, "2018-11-09": true,
	"2019-02-02": true, "2019-07-07": true, "2019-10-10": true, "2019-12-12": true, "2020-02-10": true,
	"2020-04-08": true, "2020-06-12": true, "2020-08-04": true, "2020-10-02": true, "2020-12-06": true,
	"2021-02-12": true, "2021-04-10": true, "2021-06-08": true, "2021-08-06": true, "2021-10-04": true,
	"2021-12-02": true, "2022-11-02": true, "2023-01-03": true, "2023-05-03": true, "2023-08-03": true,
	"2023-11-03": true, "2024-02-04": true, "2024-05-04": true, "2024-08-04": true, "2024-11-04": true,
	"2025-01-05": true, "2025-05-05": true, "2025-07-05": true,
}

// latestVersion is the newest version answered. Versions after the last
// one listed above are accepted up to it, since the official SDKs move to
// new ones faster than this list.
const latestVersion = "2026-12-06"

var versionRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

func knownVersion(v string) bool {
	return serviceVersions[v] || (versionRE.MatchString(v) && v > "2025-07-05" && v <= latestVersion)
}

// bearerMinVersion is the first version that accepts Microsoft Entra tokens.
// https://learn.microsoft.com/rest/api/storageservices/authorize-with-azure-active-directory#call-storage-operations-with-oauth-tokens
const bearerMinVersion = "2017-11-09"
