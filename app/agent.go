package app

import (
	"context"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/launcher"
)

// reachAgent asks the Nomad agent of client for its region's leader (no
// ACL token needed), within launcher.DefaultConnectTimeout, and returns
// launcher.ConnectError's words when it does not answer. The feedback
// service calls it before it creates its history store, so that a wrong
// address or a stopped agent leaves nothing written; run checks the token
// as well (launcher.CurrentIndex).
func reachAgent(ctx context.Context, client *api.Client) error {
	ctx, cancel := context.WithTimeout(ctx, launcher.DefaultConnectTimeout)
	defer cancel()
	var leader string
	if _, err := client.Raw().Query("/v1/status/leader", &leader, (&api.QueryOptions{}).WithContext(ctx)); err != nil {
		return launcher.ConnectError(client, err)
	}
	return nil
}
