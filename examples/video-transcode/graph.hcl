# Transcode an uploaded video into streaming renditions: probe the source,
# transcode its segments in parallel, package the renditions for HLS, upload
# them, and cut thumbnails from the package.
#
#   probe -> transcode (split) -> package -> upload
#                                        \-> thumbnail (after upload)
#
# Every command is /bin/sh with a short script that stands in for ffprobe,
# ffmpeg and the uploader: it sleeps briefly and writes its outputs with dd.

variable "transcode_cores" {
  type        = number
  default     = 4
  description = "Whole cores each transcode piece reserves (lower it on small test clusters)."
}

variable "segments" {
  type        = number
  default     = 24
  description = "Number of 10-second segments in the source video."
}

graph "video-transcode" {
  datacenters = ["dc1"]
  driver      = "raw_exec"

  task "probe" {
    command = "/bin/sh"
    args    = ["-c", "sleep 1 && mkdir -p out && echo 'duration=240 codec=h264 segments=${var.segments}' > out/manifest"]

    output "manifest" {
      size = "36B"
    }

    hints {
      kind    = "io"
      runtime = "5s"
    }
  }

  task "transcode" {
    command = "/bin/sh"
    args    = ["-c", "sleep 2 && mkdir -p out && dd if=/dev/zero of=out/renditions bs=1048576 count=8 2>/dev/null"]

    input {
      from = task.probe.output.manifest
    }

    output "renditions" {
      size = "96MiB"
    }

    split {
      items      = var.segments
      max_shards = 12
    }

    hints {
      kind    = "cpu"
      cpu     = 8000
      cores   = var.transcode_cores
      memory  = "2GiB"
      runtime = "3m"
    }
  }

  task "package" {
    command = "/bin/sh"
    args    = ["-c", "sleep 1 && mkdir -p out && dd if=/dev/zero of=out/hls bs=1048576 count=100 2>/dev/null"]

    input {
      from = task.transcode.output.renditions
      path = "in/renditions"
    }

    output "hls" {
      path = "out/hls"
      size = "100MiB"
    }

    hints {
      kind    = "io"
      disk    = "2GiB"
      runtime = "1m"
    }
  }

  task "upload" {
    command = "/bin/sh"
    args    = ["-c", "ls -l in/ 2>/dev/null; sleep 2 && echo uploaded"]

    input {
      from = task.package.output.hls
      path = "in/hls"
    }

    hints {
      kind    = "io"
      runtime = "2m"
    }
  }

  task "thumbnail" {
    command    = "/bin/sh"
    args       = ["-c", "sleep 1 && mkdir -p out && dd if=/dev/zero of=out/thumbnails bs=1024 count=2048 2>/dev/null"]
    depends_on = [task.upload]

    input {
      from = task.package.output.hls
      path = "in/hls"
    }

    output "thumbnails" {
      size = "2MiB"
    }

    hints {
      kind    = "cpu"
      cores   = 1
      runtime = "20s"
    }
  }
}
