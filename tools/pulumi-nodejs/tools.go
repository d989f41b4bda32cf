//go:build tools

// Package tools pins the Node.js language host for scripts/build-pulumi.sh. Its own module
// github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 is not served by the Go module
// proxy (403 for every version), so it is built from sdk/v3 v3.68.0, the last release that still
// held it as a package; one module cannot require two sdk/v3 versions, hence not in tools/pulumi.
package tools

import _ "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs"
