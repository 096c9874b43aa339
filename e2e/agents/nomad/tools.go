//go:build tools

// Package nomad pins the Nomad binaries built by `make agents`.
package nomad

import (
	_ "github.com/hashicorp/nomad"
	_ "github.com/hashicorp/nomad/plugins/device/cmd/example/cmd"
)
