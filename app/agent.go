package app

import (
	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/launcher"
)

// reachAgent asks the Nomad agent of client for its region's leader (no
// ACL token needed) and returns launcher.ConnectError's words when it does
// not answer. Commands that create a history store, write job files or
// register jobs call it first, so that a wrong address or a stopped agent
// leaves nothing written.
func reachAgent(client *api.Client) error {
	if _, err := client.Status().Leader(); err != nil {
		return launcher.ConnectError(client, err)
	}
	return nil
}
