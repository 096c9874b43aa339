// Package cluster starts a real, local, heterogeneous Nomad cluster for
// end-to-end tests: one Consul dev agent, one Nomad server and one Nomad
// client per executor class, all from the binaries `make agents` builds
// into .bin (Nomad v1.6.1, Consul v1.13.9, the fakegpu device plugin).
//
// Every client is a separate agent process with its own name, data dir and
// ports, node_class set to its class name and node_pool "default", bound
// and advertised on 127.0.0.1 with network_interface "lo", raw_exec
// enabled and registered with the Consul agent. Every client also loads
// the shard task driver (plugins/nomad-driver-shard, `make driver`) with a
// channel server on its own port, the Consul agent for channel discovery
// and a channel_secret shared by the cluster (ChannelAddr, ChannelSecret);
// only when that binary is missing and CI is unset does Start leave it
// out, saying so through Options.Logf. A class with GPUs loads
// the fakegpu plugin, so the node fingerprints that many "nvidia/gpu"
// devices with a memory attribute and jobs with
//
//	device "nvidia/gpu" {
//	  count = 1
//	  constraint {
//	    attribute = "${device.attr.memory}"
//	    operator  = ">="
//	    value     = "40 GiB"
//	  }
//	}
//
// are placed there and receive a device ID (NVIDIA_VISIBLE_DEVICES).
//
// A class may list host volumes (Class.HostVolumes), each a directory in
// the run directory unless it names a path. DefaultClasses gives the
// cpu-heavy client the host volume "shardwise-history" (HistoryVolume), so
// the feedback service's job in examples/deploy runs on this cluster as
// it is; HostVolumePath says where its files are.
//
// Every port is chosen by the operating system, so clusters started by
// concurrent test binaries never collide. Each cluster lives in its own run
// directory (agent configs, data dirs, logs) which Close removes after it
// has stopped the agents, killed every process they left behind (raw_exec
// executors and tasks survive their client by design) and unmounted the
// tmpfs mounts Nomad makes under allocation directories.
//
// Start returns only when the cluster is usable: Consul and the Nomad
// server have a leader and every client node is ready, in its class and
// pool, with raw_exec and the shard driver healthy and its fake GPUs
// fingerprinted. A start that
// never gets there fails with an error naming every condition still unmet
// and the tail of every agent log.
//
// Tests use StartT for a cluster of their own, or Shared for one cluster
// shared by a whole test binary (stopped by CloseShared from TestMain).
// The devcluster command (cmd/devcluster) runs a cluster by hand.
//
// Clients advertise the CPU, memory and disk of their catalog class
// (cpu_total_compute, memory_total_mb, disk_total_mb), not the host's, so
// jobs sized for the catalog are placed; raw_exec enforces none of it, so
// the workloads themselves must stay small.
package cluster
