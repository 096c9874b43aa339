package app

import (
	"context"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/launcher/inventory"
)

// DiscoverCatalog builds an executor catalog from the nodes of the Nomad
// cluster c answers for (`shardwise executors -discover`), with relative
// speeds estimated from the history files or stores at histories (see
// inventory.EstimateSpeeds); reference names the reference class (empty:
// see inventory.Options).
func DiscoverCatalog(ctx context.Context, c *api.Client, histories []string, reference string) (*inventory.Report, error) {
	records, err := LoadHistory(histories)
	if err != nil {
		return nil, err
	}
	return inventory.Discover(ctx, c, inventory.Options{Records: records, Reference: reference})
}
