# Installs nomad-driver-shard into the plugin_dir of every client: a
# sysbatch job runs its task once on each eligible client (and on clients
# that join later, when run again). Nomad loads plugins at agent start, so
# restart each client agent afterwards (a rolling restart; see
# docs/feedback.md, Deploying): the driver then fingerprints as "shard".
#
#   nomad job run \
#     -var 'driver_url=https://releases.example.com/nomad-driver-shard_linux_amd64' \
#     -var 'driver_checksum=sha256:<hex>' driver-install.nomad.hcl
#
# The task must write into the host's plugin_dir, so it runs under
# raw_exec, which the clients must enable (plugin "raw_exec" in client.hcl).

variable "datacenters" {
  type    = list(string)
  default = ["dc1"]
}

variable "driver_url" {
  type        = string
  description = "Where go-getter fetches the nomad-driver-shard binary (http(s), s3, gcs or a file path on the client)."
}

variable "driver_checksum" {
  type        = string
  description = "The binary's checksum, TYPE:HEX (e.g. sha256:...): a download that does not match fails the task."
}

variable "plugin_dir" {
  type    = string
  default = "/opt/nomad/plugins"
}

job "nomad-driver-shard-install" {
  datacenters = var.datacenters
  type        = "sysbatch"

  group "install" {
    restart {
      attempts = 2
      delay    = "10s"
      mode     = "fail"
    }

    task "install" {
      driver = "raw_exec"

      artifact {
        source      = var.driver_url
        destination = "local/nomad-driver-shard"
        mode        = "file"

        options {
          checksum = var.driver_checksum
        }
      }

      # Copy next to the target and rename, so a client starting meanwhile
      # never loads a half-written plugin.
      config {
        command = "/bin/sh"
        args = ["-c", <<-SH
          set -eu
          mkdir -p '${var.plugin_dir}'
          install -m 0755 local/nomad-driver-shard '${var.plugin_dir}/.nomad-driver-shard.tmp'
          mv -f '${var.plugin_dir}/.nomad-driver-shard.tmp' '${var.plugin_dir}/nomad-driver-shard'
          echo "installed ${var.plugin_dir}/nomad-driver-shard on $(hostname); restart this client agent to load it"
        SH
        ]
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
