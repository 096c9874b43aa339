//go:build tools

// Package consul pins the Consul binary built by `make agents`.
package consul

import _ "github.com/hashicorp/consul"
