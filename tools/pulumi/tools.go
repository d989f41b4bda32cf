//go:build tools

// Package tools pins the Pulumi CLI (engine included) for scripts/build-pulumi.sh.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
