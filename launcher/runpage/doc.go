// Package runpage serves the live run page: a local web page that shows
// one run as it goes, for `shardwise run -ui ADDR` and `shardwise ui RUN`.
//
// The page shows the plan's graph with each shard coloured by state, a
// Gantt chart of actual against predicted times that grows as the run
// goes, each executor class's utilisation, and a link per allocation to
// Nomad's UI. A Page is a launcher.Progress: the launcher feeds it the
// changes it reads from Nomad's event stream, and the page passes them to
// every browser as server-sent events, so a browser never polls Nomad.
//
// Endpoints (Handler):
//
//	/             the page (HTML, JS and CSS embedded with go:embed: no CDN)
//	/graph.svg    the graph laid out by Graphviz's dot (see layout)
//	/api/run      the run as JSON (Run): shards, states, times, classes
//	/events       server-sent events: "run" (a Run, first), "shard" (a
//	              ShardEvent per change), "end" (a Run, last)
//
// Everything but /events is gzip-compressed for browsers that accept it.
package runpage
